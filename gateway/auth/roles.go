package auth

import (
	"errors"
	"fmt"
	"regexp"

	"carebed/alerting"
	"carebed/alerting/api"
	"carebed/gateway/registry"
)

// The roles of API users. Each sees the alerts of its area only.
const (
	// RoleCountyAdmin sees and acts on every alert of a county, and manages users.
	RoleCountyAdmin = "county_admin"
	// RoleTownshipDuty is the township clinic's duty staff: one township.
	RoleTownshipDuty = "township_duty"
	// RoleVillageDoctor is a village doctor: one village.
	RoleVillageDoctor = string(alerting.ReceiverVillageDoctor)
	// RoleVisitor is a village visitor (探访员): one village; acknowledges, does not
	// close alerts.
	RoleVisitor = "visitor"
)

// role says which area fields a role's user must have, and as whom it acts towards
// alerts: what it may do is alerting.Permit's to decide, the same on every channel.
type role struct {
	township, village bool // required besides the county
	acts              alerting.Receiver
}

var roles = map[string]role{
	RoleCountyAdmin:   {acts: alerting.ReceiverCountyCentre},
	RoleTownshipDuty:  {township: true, acts: alerting.ReceiverTownshipClinic},
	RoleVillageDoctor: {township: true, village: true, acts: alerting.ReceiverVillageDoctor},
	RoleVisitor:       {township: true, village: true, acts: alerting.ReceiverVillageVisitor},
}

// Roles lists the role names.
func Roles() []string {
	return []string{RoleCountyAdmin, RoleTownshipDuty, RoleVillageDoctor, RoleVisitor}
}

var loginName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,63}$`)

// CheckUser returns what is wrong with u's login, role and area, naming the field.
func CheckUser(u registry.User) error {
	r, ok := roles[u.Role]
	switch {
	case !loginName.MatchString(u.Name):
		return fmt.Errorf("name %q: use 2-64 of a-z 0-9 . _ -, starting with a letter or digit", u.Name)
	case !ok:
		return fmt.Errorf("role %q: must be one of %v", u.Role, Roles())
	case u.Display == "":
		return errors.New("display: the name others see must be given")
	case u.County == "":
		return errors.New("county: every user belongs to a county")
	case r.township != (u.Township != ""):
		return fmt.Errorf("township: role %s %s a township", u.Role, needs(r.township))
	case r.village != (u.Village != ""):
		return fmt.Errorf("village: role %s %s a village", u.Role, needs(r.village))
	}
	return nil
}

func needs(b bool) string {
	if b {
		return "needs"
	}
	return "takes no"
}

// CallerOf is the API caller a user is.
func CallerOf(u registry.User) api.Caller {
	return api.Caller{ID: "user/" + u.Name, Name: u.Display, Phone: u.Phone, Role: u.Role,
		Area: alerting.Place{County: u.County, Township: u.Township, Village: u.Village},
		Acts: roles[u.Role].acts}
}
