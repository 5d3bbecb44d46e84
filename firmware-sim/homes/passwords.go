package homes

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"carebed/gateway/protocol"
)

// ReadPasswords reads the devices' MQTT passwords from a CSV file: either what
// `gateway devices provision` writes (kind,username,password,phone; rows of other
// kinds than device are skipped) or a plain device_id,password (or 设备编号,密码)
// file. A row with a bad device id or an empty password is an error naming its line.
func ReadPasswords(r io.Reader) (map[string]string, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("passwords: header: %w", err)
	}
	for i := range head {
		head[i] = strings.TrimSpace(strings.TrimPrefix(head[i], "\ufeff"))
	}
	id, pw, kind := columns(head)
	if id < 0 {
		return nil, errors.New("passwords: the header must be kind,username,password,phone " +
			"(gateway devices provision) or device_id,password (or 设备编号,密码)")
	}
	out := map[string]string{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		line, _ := cr.FieldPos(0)
		if err == nil && len(rec) != len(head) {
			err = fmt.Errorf("%d fields, the header has %d", len(rec), len(head))
		}
		if err != nil {
			return nil, fmt.Errorf("passwords: line %d: %w", line, err)
		}
		if kind >= 0 && rec[kind] != "device" {
			continue // a responder app's password
		}
		device := strings.TrimSpace(rec[id])
		if err := checkPassword(device, rec[pw], out); err != nil {
			return nil, fmt.Errorf("passwords: line %d: %w", line, err)
		}
		out[device] = rec[pw]
	}
}

// columns finds the id, password and (provisioning format only) kind columns; id
// is -1 when the header is neither format.
func columns(head []string) (id, pw, kind int) {
	switch strings.Join(head, ",") {
	case "kind,username,password,phone":
		return 1, 2, 0
	case "device_id,password", "设备编号,密码":
		return 0, 1, -1
	}
	return -1, -1, -1
}

// checkPassword checks a row against the rows before it.
func checkPassword(id, pw string, seen map[string]string) error {
	switch {
	case !protocol.ValidDeviceID(id):
		return fmt.Errorf("%q is not a device id", id)
	case pw == "":
		return fmt.Errorf("%s has no password", id)
	case seen[id] != "":
		return fmt.Errorf("%s again", id)
	}
	return nil
}
