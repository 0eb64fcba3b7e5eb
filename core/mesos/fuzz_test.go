package mesos

import (
	"encoding/json"
	"reflect"
	"testing"
)

// Run with e.g.
//
//	go test ./core/mesos -run xxx -fuzz FuzzParseResources -fuzztime 20s
//
// Crashers found so far are kept in testdata/fuzz/<FuzzName>/ and run as
// part of the normal tests.

var resourceSeeds = []string{
	"cpus:4;mem:8192;disk:20000;ports:[31000-32000]",
	"cpus(ads):8",
	"cpus(eng/backend):2;mem(*):1",
	"disks:{a,b}",
	"ports:[1-5,10-20]",
	"ports:[8080]",
	"cpus:0.1;cpus:0.2",
	"mem:1e3;gpus:0",
	`[{"name":"cpus","type":"SCALAR","scalar":{"value":2}}]`,
	`[{"name":"mem","type":"SCALAR","scalar":{"value":"64"},"reservations":[{"type":"DYNAMIC","role":"eng","principal":"p"}]}]`,
	`[{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":1,"end":2}]},"role":"web","reservation":{"principal":"p"}}]`,
	`[{"name":"s","type":"SET","set":{"item":["a","a"]},"allocation_info":{"role":"r"},"revocable":{}}]`,
	"cpus", "cpus:abc", "cpus:-1", "ports:[5-1]", "ports:[1-", "cpus(:1", "cpus(-x):1", ":4",
	"ports:[0-18446744073709551615];ports:[5-6]",
	"s:{a[,b};t:1",
	"cpus:999999999999999.9",
}

func FuzzParseResources(f *testing.F) {
	for _, s := range resourceSeeds {
		f.Add(s, "")
		f.Add(s, "ads")
	}
	f.Fuzz(func(t *testing.T, s, role string) {
		got, err := ParseResources(s, role)
		if err != nil {
			if got != nil {
				t.Fatalf("error %v with result %v", err, got)
			}
			return
		}
		if err := got.Validate(); err != nil {
			t.Fatalf("ParseResources(%q, %q) = %v does not validate: %v", s, role, got, err)
		}
		for _, r := range got {
			if r.isEmpty() {
				t.Fatalf("empty resource in result: %+v", r)
			}
			if r.Role != "" || r.Reservation != nil {
				t.Fatalf("result not in post-refinement form: %+v", r)
			}
		}
		if !reflect.DeepEqual(got.Normalize(), got) && len(got) > 0 {
			t.Fatalf("result is not normalized:\n%s\n%s", canon(t, got), canon(t, got.Normalize()))
		}
		checkReparse(t, got)

		// Arithmetic on a valid value.
		if !got.Contains(got) {
			t.Fatalf("%v does not contain itself", got)
		}
		if d := got.Minus(got); len(d) != 0 {
			t.Fatalf("%v - itself = %v", got, d)
		}
		if !got.Plus(got).Contains(got) {
			t.Fatalf("%v + itself does not contain it", got)
		}
		_ = got.V0()
		pre := got.PreRefinement()
		if textRepresentable(got) && !reflect.DeepEqual(pre.Normalize(), got) && len(got) > 0 {
			t.Fatalf("Normalize(PreRefinement(x)) != x for %v", got)
		}
	})
}

var attributeSeeds = []string{
	"rack:r1;zone:a;level:10;keys:[1000-1500];s:{a,b}",
	"rack:r1;rack:r2",
	"url:http://x:8080/p",
	"a:-2.5;b:1e3;c:inf;d:0x10",
	"a:[];b:{}",
	"rack", ":r1", "rack:", "keys:[5-1]", "s:{a,b",
	"x:a[b;y:c",
	"a:{a},b}",
}

func FuzzParseAttributes(f *testing.F) {
	for _, s := range attributeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseAttributes(s)
		if err != nil {
			if got != nil {
				t.Fatalf("error %v with result %v", err, got)
			}
			return
		}
		seen := map[string]bool{}
		for i := range got {
			if err := got[i].Validate(); err != nil {
				t.Fatalf("ParseAttributes(%q)[%d] = %+v: %v", s, i, got[i], err)
			}
			if seen[got[i].Name] {
				t.Fatalf("duplicate attribute %q", got[i].Name)
			}
			seen[got[i].Name] = true
		}
		formatted := FormatAttributes(got)
		again, err := ParseAttributes(formatted)
		if err != nil {
			t.Fatalf("re-parse of %q (from %q): %v", formatted, s, err)
		}
		if !reflect.DeepEqual(again, got) {
			t.Fatalf("re-parse of %q (from %q):\n got  %+v\n want %+v", formatted, s, again, got)
		}
		// The JSON form round-trips too.
		b, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		var back []Attribute
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		if !reflect.DeepEqual(back, got) {
			t.Fatalf("JSON round trip of %s:\n got  %+v\n want %+v", b, back, got)
		}
	})
}

func FuzzDecodeCall(f *testing.F) {
	for _, s := range []string{
		refSubscribe, refAccept, refAcknowledge,
		mgSubscribe, mgAccept, mgAcknowledge, mgReconcile,
		`{"type":"DECLINE","decline":{"offer_ids":[{"value":"o"}],"filters":{"refuse_seconds":"Infinity"}}}`,
		`{"type":"KILL","kill":{"task_id":{"value":"t"},"kill_policy":{"grace_period":{"nanoseconds":5000000000}}}}`,
		`{"type":"REVIVE","revive":{"roles":["a","b"]}}`,
		`{"type":"MESSAGE","message":{"agent_id":{"value":"a"},"executor_id":{"value":"e"},"data":"aGVsbG8="}}`,
		`{"type":"ACCEPT","accept":{"operations":[{"type":"LAUNCH","launch":{"task_infos":[{"name":"t","task_id":{"value":"t"},"agent_id":{"value":"a"},"limits":{"cpus":"Infinity","mem":512.0},"health_check":{"type":"TCP","tcp":{"port":80}},"container":{"type":"DOCKER","docker":{"image":"x"}},"command":{"uris":[{"value":"u"}]},"data":""}]}}]}}`,
		`{"type":"ACCEPT","accept":{"operations":[{"type":"RESERVE","reserve":{"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"reservations":[{"type":"DYNAMIC","role":"r","labels":{"labels":[{"key":"k"}]}}],"disk":{"persistence":{"id":"v"},"source":null}}]}}]}}`,
		`{"type":"UPDATE_FRAMEWORK","update_framework":{"framework_info":{"user":"u","name":"n","offer_filters":{"r":{"min_allocatable_resources":{"quantities":[{"quantities":{"cpus":{"value":1}}}]}}}}}}`,
		`{"type":"ACCEPT","accept":{"operations":[{"type":"LAUNCH","launch":{"task_infos":[{"name":"t","task_id":{"value":"t"},"agent_id":{"value":"a"},"command":{"environment":{"variables":[{"name":"S","type":"SECRET","secret":{ "type" : "REFERENCE" }}]}}}]}}]}}`,
		`{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","failover_timeout":1e999}}}`,
		`null`, `{}`, `[]`, `{"type":5}`,
		refOffers, refUpdate, refSubscribed,
		`{"type":"LAUNCH","launch":{"task":{"name":"t","task_id":{"value":"t"},"agent_id":{"value":"a"},"kill_policy":{"grace_period":{"nanoseconds":"3000000000"}}}}}`,
		`{"type":"STATUS_UPDATE","status_update":{"framework_id":{"value":"f"},"status":{"task_id":{"value":"t"},"state":"TASK_FINISHED","uuid":"AAEC"},"timestamp":1.5}}`,
		`{"type":"REGISTER","register":{"agent_info":{"hostname":"h","resources":[{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":"1","end":"2"}]}}],"attributes":[{"name":"rack","type":"TEXT","text":{"value":"r1"}}]},"version":"1"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Call
		if err := json.Unmarshal(data, &c); err == nil {
			checkCallRoundTrip(t, c)
		}
		// The other wire messages obey the same rule.
		fuzzRoundTrip[Event](t, data)
		fuzzRoundTrip[ExecutorCall](t, data)
		fuzzRoundTrip[ExecutorEvent](t, data)
		fuzzRoundTrip[AgentCall](t, data)
		fuzzRoundTrip[AgentEvent](t, data)
	})
}

func fuzzRoundTrip[T any](t *testing.T, data []byte) {
	t.Helper()
	var v T
	if err := json.Unmarshal(data, &v); err == nil {
		checkRoundTrip(t, v)
	}
}
