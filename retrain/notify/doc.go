// Package notify delivers retune events to subscribers, at least once, through crashes.
//
// Events are encoded as CloudEvents 1.0 in structured JSON mode ([Structured]). A
// [Notifier] makes one delivery attempt per Send and classifies its result as an
// [Outcome]: a [Webhook] posts the event signed per the Standard Webhooks specification
// ([Sign], [Verify]); an [Exec] runs a local command with the event on stdin; a [NATS]
// publishes to a JetStream stream with the event id as the message id and counts the event
// delivered only on the server's acknowledgement; a [Log] writes it as a JSON line.
//
// A [Dispatcher] drains the storage's outbox: each stored event names the notifiers it is
// for, and each (event, notifier) pair is a delivery that the dispatcher leases, attempts,
// records and, on failure, retries on a schedule ([DefaultSchedule]) until it is delivered
// or becomes a dead letter. Notifiers are the dispatcher's own configuration: the database
// names them only by ID.
package notify
