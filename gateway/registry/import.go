package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"

	"carebed/gateway/registry/internal/ledger"
	"carebed/internal/sqldb"
)

// Import reads a bed ledger and upserts its homes (keyed by home_id), their contacts,
// township clinic phones and devices (keyed by device_id) in one transaction.
//
// The ledger is CSV, UTF-8 with or without a BOM, one row per device, with the header
// county,township,village,home_id,elder_name,address,lat,lon,device_id,device_kind,
// visitor_name,visitor_phone,doctor_name,doctor_phone,family_phone in any order, or
// the same columns named 县,乡镇,村,户编号,老人姓名,地址,纬度,经度,设备编号,设备类型,
// 探访员,探访员电话,村医,村医电话,家属电话; clinic_phone (卫生院电话), heartbeat_s
// (心跳间隔), care_group (照护类别: 独居/留守, 高龄, 失能, 重残, 特困/低保, separated by
// 、 or ;), visit_days (探访周期), round_days (巡诊周期) and mobile (流动 or 游牧: 是 for a
// household that moves with its herds; any row of the home may say so) may be added.
// Rows of one home may leave its columns blank to repeat
// another row's values, but may not contradict them. A home in the file gets exactly
// what its rows say: a column blank on all of them is cleared.
//
// Devices and homes not in the file are left alone, and importing the same file again
// changes nothing; a township clinic phone the file leaves blank is kept. When rows
// are bad, Import imports nothing and returns an error wrapping ErrBadRows, unless
// opts.SkipBad is set; a bad header always imports nothing. The report is filled in
// either case.
func (s *Store) Import(ctx context.Context, r io.Reader, opts ImportOptions) (ImportReport, error) {
	l, err := ledger.Read(r)
	if err != nil {
		return ImportReport{}, fmt.Errorf("registry: import: %w", err)
	}
	rep := ImportReport{Rows: l.Total, Errors: rowErrors(l.Errors)}
	if l.BadHeader || (len(rep.Errors) > 0 && !opts.SkipBad) {
		return rep, fmt.Errorf("%w: %d bad, first %v", ErrBadRows, len(rep.Errors), rep.Errors[0])
	}
	counts := rep
	err = s.inTx(ctx, func(tx *sqldb.Tx) error { return apply(ctx, tx, l, &counts) })
	if err != nil {
		return rep, fmt.Errorf("registry: import: %w", err)
	}
	return counts, nil
}

// inTx runs f in a write transaction and commits when f succeeds.
func (s *Store) inTx(ctx context.Context, f func(*sqldb.Tx) error) error {
	tx, err := s.db.BeginWrite(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := f(tx); err != nil {
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return errors.Join(err, rbErr)
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// rowErrors converts the ledger's errors; nil when there are none.
func rowErrors(errs []ledger.Error) []RowError {
	if len(errs) == 0 {
		return nil
	}
	out := make([]RowError, len(errs))
	for i, e := range errs {
		out[i] = RowError(e)
	}
	return out
}

// apply writes the ledger's good rows and counts them into rep.
func apply(ctx context.Context, tx *sqldb.Tx, l *ledger.Ledger, rep *ImportReport) error {
	w, err := prepareWriter(ctx, tx)
	if err != nil {
		return err
	}
	defer w.close()
	if err := writePlaces(ctx, w, l); err != nil {
		return err
	}
	clinics, err := writeClinics(ctx, w, l)
	if err != nil {
		return err
	}
	homes, err := writeHomes(ctx, w, l)
	if err != nil {
		return err
	}
	for i := range l.Rows {
		if err := writeDevice(ctx, w, l, &l.Rows[i].Device, homes, clinics, rep); err != nil {
			return err
		}
	}
	return nil
}

// townshipKey names a township: county and township names.
type townshipKey = [2]string

// writePlaces makes sure every county, township and village of the file exists.
func writePlaces(ctx context.Context, w *writer, l *ledger.Ledger) error {
	done := map[Place]bool{}
	for _, h := range l.Homes {
		p := Place{County: h.County, Township: h.Township, Village: h.Village}
		if done[p] {
			continue
		}
		done[p] = true
		if err := w.ensurePlace(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// writeClinics stores the township clinic phones that changed and returns those
// townships.
func writeClinics(ctx context.Context, w *writer, l *ledger.Ledger) (map[townshipKey]bool, error) {
	changed := map[townshipKey]bool{}
	for _, c := range l.Clinics {
		key := townshipKey{c.County, c.Township}
		old, err := w.clinicPhone(ctx, key)
		if err != nil {
			return nil, err
		}
		if old == c.Phone {
			continue
		}
		if err := w.setClinicPhone(ctx, key, c.Phone); err != nil {
			return nil, err
		}
		changed[key] = true
	}
	return changed, nil
}

// writeHomes stores the homes that are new or changed and returns their ids.
func writeHomes(ctx context.Context, w *writer, l *ledger.Ledger) (map[string]bool, error) {
	changed := map[string]bool{}
	for _, h := range l.Homes {
		old, found, err := w.home(ctx, h.ID)
		if err != nil {
			return nil, err
		}
		if found && old.Equal(h) {
			continue
		}
		if err := w.putHome(ctx, h); err != nil {
			return nil, err
		}
		changed[h.ID] = true
	}
	return changed, nil
}

// writeDevice stores a device when it is new or changed and counts its row: Imported
// for a new device, Updated when the device, its home or its township's clinic phone
// changed, else Unchanged.
func writeDevice(ctx context.Context, w *writer, l *ledger.Ledger, d *ledger.Device, homes map[string]bool,
	clinics map[townshipKey]bool, rep *ImportReport) error {
	old, found, err := w.device(ctx, d.ID)
	if err != nil {
		return err
	}
	if !found || old != *d {
		if err := w.putDevice(ctx, d); err != nil {
			return err
		}
	}
	h := l.Home(d.Home)
	switch {
	case !found:
		rep.Imported++
	case old != *d || homes[h.ID] || clinics[townshipKey{h.County, h.Township}]:
		rep.Updated++
	default:
		rep.Unchanged++
	}
	return nil
}
