// Package notify delivers retune events to subscribers.
//
// Events are encoded as CloudEvents 1.0 in structured JSON mode ([Structured]) and sent to
// webhooks signed per the Standard Webhooks specification ([Sign], [Verify]). A [Webhook]
// makes one delivery attempt per [Webhook.Send] and classifies its result as an [Outcome];
// scheduling retries is up to the caller.
package notify
