package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
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

	wh := &notify.Webhook{URL: receiver.URL, AllowPrivate: true, Secrets: []string{secret}, Timeout: 5 * time.Second}
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

// A dispatcher drains the outbox: here from the memory storage to a log notifier.
func ExampleDispatcher() {
	store := retune.NewMemoryStorage().(retune.DeliveryStore)
	err := store.AppendEvents(context.Background(), []retune.Event{{
		ID: "0b6c3f7e-2d41-4f9a-8e15-7a9c2b4d6e81", Type: retune.TypeStudyCompleted,
		Source: "/retune/studies/digits-hgb", Subject: "studies/digits-hgb",
		Time:   time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC),
		Notify: []string{"audit"}, // the IDs of the dispatchers' local notifiers
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	d := &notify.Dispatcher{Store: store, Notifiers: map[string]notify.Notifier{"audit": &notify.Log{W: os.Stdout}}}
	if err := d.Flush(context.Background()); err != nil { // Run keeps going until its context ends
		fmt.Println(err)
	}
	ds, _ := store.Deliveries(context.Background(), retune.DeliveryFilter{})
	fmt.Println(ds[0].Notifier, ds[0].State, ds[0].Attempts)
	// Output:
	// {"specversion":"1.0","id":"0b6c3f7e-2d41-4f9a-8e15-7a9c2b4d6e81","source":"/retune/studies/digits-hgb","type":"dev.retune.study.completed.v1","subject":"studies/digits-hgb","time":"2026-05-01T12:00:00Z"}
	// audit delivered 1
}

// A Go receiver verifies each request and deduplicates on the event ID: retune delivers at
// least once, so the same event may arrive again (always with the same ID).
func ExampleVerify() {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	seen := map[string]bool{} // in production: a table with a unique key
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err == nil {
			err = notify.Verify(secret, r.Header, body, 5*time.Minute, time.Now())
		}
		if err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		id := r.Header.Get(notify.HeaderID)
		if !seen[id] {
			seen[id] = true
			fmt.Println("retrain for event", id)
		}
		w.WriteHeader(http.StatusNoContent) // 2xx, also for a repeat: stop the retries
	})
	srv := httptest.NewServer(handler)
	defer srv.Close()
	wh := &notify.Webhook{URL: srv.URL, AllowPrivate: true, Secrets: []string{secret}}
	e := retune.Event{ID: "51c0953e-7097-42d9-a837-16d9772590cf", Type: retune.TypeRetrainingRequired, Source: "/retune/models/digits"}
	for range 2 {
		fmt.Println(wh.Send(context.Background(), e).Outcome)
	}
	// Output:
	// retrain for event 51c0953e-7097-42d9-a837-16d9772590cf
	// delivered
	// delivered
}
