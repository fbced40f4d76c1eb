// Package notify delivers retune events to subscribers.
//
// Events are encoded as CloudEvents 1.0 in structured JSON mode ([Structured]). Three
// notifiers each make one delivery attempt per Send and classify its result as an
// [Outcome]: a [Webhook] posts the event signed per the Standard Webhooks specification
// ([Sign], [Verify]); an [Exec] runs a local command with the event on stdin; a [NATS]
// publishes to a JetStream stream with the event id as the message id and counts the event
// delivered only on the server's acknowledgement. Scheduling retries is up to the caller.
package notify
