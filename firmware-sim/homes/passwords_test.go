package homes

import (
	"strings"
	"testing"
)

func TestReadPasswords(t *testing.T) {
	cases := []struct{ name, in, err string }{
		{"english", "device_id,password\nhj-0001-sos,s3cret\nhj-0001-bed, with space\n", ""},
		{"chinese with BOM", "\ufeff设备编号,密码\nhj-0001-sos,s3cret\n", ""},
		{"bad header", "id,pw\nhj-0001-sos,x\n", "header must be"},
		{"bad id", "device_id,password\nhj-0001-sos,x\nHJ 1,y\n", `line 3: "HJ 1" is not a device id`},
		{"empty password", "device_id,password\nhj-0001-sos,\n", "line 2: hj-0001-sos has no password"},
		{"twice", "device_id,password\nhj-0001-sos,a\nhj-0001-sos,b\n", "line 3: hj-0001-sos again"},
		{"three columns", "device_id,password\nhj-0001-sos,a,b\n", "line 2: 3 fields, the header has 2"},
		{"gateway provisioning", "kind,username,password,phone\ndevice,hj-0001-sos,s3cret,\nresponder,r-00aa,x,+8613800000001\n", ""},
		{"provisioning, bad device", "kind,username,password,phone\ndevice,HJ 1,x,\n", `line 2: "HJ 1" is not a device id`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ReadPasswords(strings.NewReader(c.in))
			if c.err == "" {
				if err != nil || got["hj-0001-sos"] != "s3cret" {
					t.Fatalf("got %v, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("error %v, want %q", err, c.err)
			}
		})
	}
}

func FuzzReadPasswords(f *testing.F) {
	f.Add("device_id,password\nhj-0001-sos,s3cret\n")
	f.Add("\ufeff设备编号,密码\nbed-0001,\"a,b\"\n")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ReadPasswords(strings.NewReader(in))
		if err != nil {
			return
		}
		for id, pw := range got {
			if id == "" || pw == "" {
				t.Fatalf("accepted %q: %q", id, pw)
			}
		}
	})
}
