package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/retrain/notify"
)

func ExampleStructured() {
	b, err := notify.Structured(retune.Event{
		ID:      "c2f7a1de-5b8e-4d0a-9f31-6e2b7c4d8a90",
		Type:    retune.TypeChampionPromoted,
		Source:  "/retune/models/digits",
		Subject: "champions/2",
		Time:    time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC),
		Data:    json.RawMessage(`{"model":"digits","version":2}`),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(b))
	// Output:
	// {"specversion":"1.0","id":"c2f7a1de-5b8e-4d0a-9f31-6e2b7c4d8a90","source":"/retune/models/digits","type":"dev.retune.champion.promoted.v1","subject":"champions/2","time":"2026-05-01T12:00:00Z","datacontenttype":"application/json","data":{"model":"digits","version":2}}
}

func ExampleSign() {
	secrets := []string{
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",             // current
		"whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", // previous, during rotation
	}
	ts := time.Unix(1614265330, 0)
	body := []byte(`{"test": 2432232314}`)
	sig, err := notify.Sign(secrets, "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, body)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sig)

	// A receiver holding either secret verifies the request.
	h := http.Header{}
	h.Set(notify.HeaderID, "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set(notify.HeaderTimestamp, "1614265330")
	h.Set(notify.HeaderSignature, sig)
	fmt.Println(notify.Verify(secrets[1], h, body, 0, ts.Add(time.Minute)))
	fmt.Println(notify.Verify(secrets[1], h, body, 0, ts.Add(time.Hour)))
	// Output:
	// v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1,O4Gjv1HqPqsMrjmczoggs/sWA8gZD0VyHG+fLh4+ktI=
	// <nil>
	// webhook-timestamp 1614265330 is more than 5m0s from now (2021-02-25T16:02:10Z): notify: webhook not verified
}

func ExampleWebhook_Send() {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err == nil {
			err = notify.Verify(secret, r.Header, body, 0, time.Now())
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, "thanks")
	}))
	defer receiver.Close()

	wh := &notify.Webhook{URL: receiver.URL, Secrets: []string{secret}, Timeout: 5 * time.Second}
	a := wh.Send(context.Background(), retune.Event{
		ID:     "c2f7a1de-5b8e-4d0a-9f31-6e2b7c4d8a90",
		Type:   retune.TypeRetrainingRequired,
		Source: "/retune/models/digits",
		Data:   json.RawMessage(`{"model":"digits"}`),
	})
	fmt.Println(a.Outcome, a.Status, a.Response, a.Err)
	// Output:
	// delivered 200 thanks <nil>
}
