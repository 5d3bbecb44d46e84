// Package directory is alerting's view of who to reach (alerting.Directory), made of
// the registry's home contacts and township clinic phones and the policy's county
// centre and named people. Person ids carry no personal data: home/<home>/<pos>,
// clinic/<county>/<township>, county/<n>, person/<id>.
package directory

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"carebed/alerting"
	"carebed/alerting/policy"
	"carebed/gateway/registry"
)

// Directory resolves receivers to people; New makes one.
type Directory struct {
	reg    *registry.Store
	policy policy.Policy
}

// New returns the directory of the registry and the policy.
func New(reg *registry.Store, pol policy.Policy) *Directory {
	return &Directory{reg: reg, policy: pol}
}

var _ alerting.Directory = (*Directory)(nil)

// People returns who to page for receiver r at place p.
func (d *Directory) People(ctx context.Context, p alerting.Place, r alerting.Receiver) ([]alerting.Person, error) {
	people, err := d.people(ctx, p, r)
	if err != nil {
		return nil, err
	}
	return d.withResponders(ctx, people)
}

// withResponders gives each person with a phone their responder-app id (the
// registry's, random: see registry.Store.ResponderID).
func (d *Directory) withResponders(ctx context.Context, people []alerting.Person) ([]alerting.Person, error) {
	for i := range people {
		if people[i].Phone == "" {
			continue
		}
		id, err := d.reg.ResponderID(ctx, people[i].Phone)
		if err != nil {
			return nil, err
		}
		people[i].Responder = id
	}
	return people, nil
}

func (d *Directory) people(ctx context.Context, p alerting.Place, r alerting.Receiver) ([]alerting.Person, error) {
	switch r {
	case alerting.ReceiverFamily:
		if p.VillageWide() {
			return nil, nil // a village outage is not for each family
		}
		return d.homeContacts(ctx, p, r)
	case alerting.ReceiverVillageVisitor, alerting.ReceiverVillageDoctor:
		return d.homeContacts(ctx, p, r)
	case alerting.ReceiverTownshipClinic:
		phone, err := d.reg.TownshipClinicPhone(ctx, p.County, p.Township)
		if errors.Is(err, registry.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return []alerting.Person{clinicPerson(p.County, p.Township, phone)}, nil
	case alerting.ReceiverCountyCentre:
		var out []alerting.Person
		for i, phone := range d.policy.CountyCentre() {
			out = append(out, countyPerson(i, phone))
		}
		return out, nil
	}
	if id, ok := policy.PersonID(r); ok {
		p, found, err := d.Person(ctx, "person/"+id)
		if err != nil || !found {
			return nil, err
		}
		return []alerting.Person{p}, nil
	}
	return nil, fmt.Errorf("unknown receiver %q", r)
}

// homeContacts returns the home's contacts with role r, or for a village-wide alert
// those of every home in the village, one per phone.
func (d *Directory) homeContacts(ctx context.Context, p alerting.Place, r alerting.Receiver) ([]alerting.Person, error) {
	var cs []registry.Contact
	var err error
	if p.VillageWide() {
		cs, err = d.reg.VillageContacts(ctx, p.County, p.Township, p.Village, string(r))
	} else {
		cs, err = d.reg.Contacts(ctx, p.Home)
	}
	if err != nil {
		return nil, err
	}
	var out []alerting.Person
	for _, c := range cs {
		if c.Role == string(r) {
			out = append(out, contactPerson(c))
		}
	}
	return out, nil
}

func contactPerson(c registry.Contact) alerting.Person {
	return alerting.Person{ID: "home/" + c.Home + "/" + strconv.Itoa(c.Pos), Role: alerting.Receiver(c.Role),
		Name: c.Name, Phone: c.Phone}
}

func clinicPerson(county, township, phone string) alerting.Person {
	return alerting.Person{ID: "clinic/" + county + "/" + township, Role: alerting.ReceiverTownshipClinic,
		Name: township + "卫生院", Phone: phone}
}

func countyPerson(i int, phone string) alerting.Person {
	return alerting.Person{ID: "county/" + strconv.Itoa(i), Role: alerting.ReceiverCountyCentre, Name: "县中心",
		Phone: phone}
}

// PeopleByResponder finds everyone whose phone has the responder-app id responder
// (registry.Store.ResponderID); none for an unknown id.
func (d *Directory) PeopleByResponder(ctx context.Context, responder string) ([]alerting.Person, error) {
	phone, err := d.reg.ResponderPhone(ctx, responder)
	if errors.Is(err, registry.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return d.PeopleByPhone(ctx, phone)
}

// Person finds someone by id.
func (d *Directory) Person(ctx context.Context, id string) (alerting.Person, bool, error) {
	p, ok, err := d.person(ctx, id)
	if err != nil || !ok {
		return p, ok, err
	}
	people, err := d.withResponders(ctx, []alerting.Person{p})
	if err != nil {
		return p, false, err
	}
	return people[0], true, nil
}

func (d *Directory) person(ctx context.Context, id string) (alerting.Person, bool, error) {
	parts := strings.Split(id, "/")
	switch {
	case len(parts) == 3 && parts[0] == "home":
		pos, err := strconv.Atoi(parts[2])
		if err != nil {
			return alerting.Person{}, false, nil
		}
		c, err := d.reg.Contact(ctx, parts[1], pos)
		if errors.Is(err, registry.ErrNotFound) {
			return alerting.Person{}, false, nil
		}
		return contactPerson(c), err == nil, err
	case len(parts) == 3 && parts[0] == "clinic":
		phone, err := d.reg.TownshipClinicPhone(ctx, parts[1], parts[2])
		if errors.Is(err, registry.ErrNotFound) {
			return alerting.Person{}, false, nil
		}
		return clinicPerson(parts[1], parts[2], phone), err == nil, err
	case len(parts) == 2 && parts[0] == "county":
		i, err := strconv.Atoi(parts[1])
		phones := d.policy.CountyCentre()
		if err != nil || i < 0 || i >= len(phones) {
			return alerting.Person{}, false, nil
		}
		return countyPerson(i, phones[i]), true, nil
	case len(parts) == 2 && parts[0] == "person":
		name, phone, ok := d.policy.Person(parts[1])
		return alerting.Person{ID: id, Name: name, Phone: phone}, ok, nil
	}
	return alerting.Person{}, false, nil
}

// PeopleByPhone finds everyone with this phone: home contacts (a village doctor is one
// per home), clinics, the county centre.
func (d *Directory) PeopleByPhone(ctx context.Context, phone string) ([]alerting.Person, error) {
	cs, err := d.reg.ContactsByPhone(ctx, phone)
	if err != nil {
		return nil, err
	}
	var out []alerting.Person
	for _, c := range cs {
		out = append(out, contactPerson(c))
	}
	ts, err := d.reg.TownshipsByClinicPhone(ctx, phone)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		out = append(out, clinicPerson(t.County, t.Name, phone))
	}
	for i, p := range d.policy.CountyCentre() {
		if p == phone {
			out = append(out, countyPerson(i, p))
		}
	}
	return d.withResponders(ctx, out)
}

// Elder returns the home's elder as the ledger names them.
func (d *Directory) Elder(ctx context.Context, p alerting.Place) (string, error) {
	e, err := d.reg.Elder(ctx, p.Home)
	if errors.Is(err, registry.ErrNotFound) {
		return "", nil
	}
	return e, err
}
