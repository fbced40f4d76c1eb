package server

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzDecode decodes arbitrary bodies as every handler's request: decoding never panics,
// every failure is a field error (a 4xx problem naming the field), and what decodes and
// validates encodes back to a body that does too.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"epoch":1,"values":[1.5]}`, `{"epoch":1,"values":["inf","-inf","nan"]}`,
		`{"epoch":2,"state":"FAIL","reason":"oom"}`, `{"epoch":1,"step":0,"values":[0]}`,
		`{"params":{"lr":0.01,"opt":"adam"}}`, `{"definition":{"name":"x"},"replace":true}`,
		`{"epoch":1,"x":1}`, `{"epoch":1} {}`, `[1]`, `{"values":{}}`, ``,
		`{"epoch":1,"name":"lr","distribution":{"type":"float","low":0.001,"high":0.1,"log":true}}`,
		`{"epoch":1,"name":"n","distribution":{"type":"int","low":1,"high":9,"step":2}}`,
		`{"epoch":1,"name":"c","distribution":{"type":"categorical","choices":["a",1,true]}}`,
		`{"params":{"lr":0.1},"values":[0.5],"metrics":{"latency":"inf"}}`, `{"force":true,"notify":[]}`,
		`{"reason":"drift"}`, `{"notifiers":["hook"]}`,
	} {
		f.Add(uint8(0), []byte(s))
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		reqs := []func() validator{
			func() validator { return new(createStudyRequest) },
			func() validator { return new(askRequest) },
			func() validator { return new(tellRequest) },
			func() validator { return new(reportRequest) },
			func() validator { return new(heartbeatRequest) },
			func() validator { return new(enqueueRequest) },
			func() validator { return new(suggestRequest) },
			func() validator { return new(setChampionRequest) },
			func() validator { return new(promoteRequest) },
			func() validator { return new(triggerRequest) },
			func() validator { return new(redeliverRequest) },
			func() validator { return new(notifierRequest) },
		}
		v := reqs[int(which)%len(reqs)]()
		err := decode(body, v)
		if err != nil {
			var fe *fieldError
			if !errors.As(err, &fe) || fe.Field == "" && fe.Status == 0 && fe.Msg == "" {
				t.Fatalf("decode(%q) error %v (%T), want a field error", body, err, err)
			}
			if p, known := toProblem(err); !known || p.Status < 400 || p.Status >= 500 {
				t.Fatalf("decode(%q) error %v is problem %+v, want a 4xx", body, err, p)
			}
			return
		}
		again, merr := json.Marshal(v)
		if merr != nil {
			t.Fatalf("Marshal(%+v): %v", v, merr)
		}
		if err := decode(again, reqs[int(which)%len(reqs)]()); err != nil {
			t.Fatalf("decode(%q) ok, but its encoding %s fails: %v", body, again, err)
		}
	})
}

// A value of the wrong form names its field and what would be valid: a value that is not a
// number (the decoder never reaches the field's name on its own for types that decode
// themselves), and an integer out of its type's range or with a fraction.
func TestDecodeNamesTheField(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		body       string
		v          validator
		field, msg string
		valid      string
	}{
		{`{"epoch":1,"step":3,"values":["NaN"]}`, new(reportRequest), "values", `"NaN" is not a number`, `a number, "inf", "-inf" or "nan"`},
		{`{"epoch":1,"values":[1,true]}`, new(tellRequest), "values", "true is not a number", `a number, "inf", "-inf" or "nan"`},
		{`{"epoch":1,"values":[0.5],"metrics":{"latency":"fast"}}`, new(tellRequest), "metrics", `"fast" is not a number`, `a number, "inf", "-inf" or "nan"`},
		{`{"epoch":1,"step":92233720368547758070,"values":[1]}`, new(reportRequest), "step", "number 92233720368547758070 is not an integer in range", "an integer from -9223372036854775808 to 9223372036854775807"},
		{`{"epoch":1.5,"step":1,"values":[1]}`, new(reportRequest), "epoch", "number 1.5 is not an integer in range", "an integer from"},
		{`{"epoch":"1","step":1,"values":[1]}`, new(reportRequest), "epoch", `JSON string is the wrong type`, "a number"},
	} {
		err := decode([]byte(c.body), c.v)
		var fe *fieldError
		if !errors.As(err, &fe) {
			t.Errorf("decode(%s) = %v, want a field error", c.body, err)
			continue
		}
		if fe.Field != c.field || fe.Msg != c.msg && !strings.HasPrefix(fe.Msg, c.msg) || !strings.HasPrefix(fe.Valid, c.valid) || fe.Status != 400 {
			t.Errorf("decode(%s) = field %q, msg %q, valid %q, status %d; want %q, %q, %q…, 400", c.body, fe.Field, fe.Msg, fe.Valid, fe.Status, c.field, c.msg, c.valid)
		}
	}
}
