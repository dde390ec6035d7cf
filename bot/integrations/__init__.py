"""Outbound integrations: the CRM link.

- `signing`: how a request is signed (HMAC-SHA256 over timestamp and body) and how a receiver checks it;
- `events`: the JSON event a concluded call produces;
- `outbox`: a campaign's webhook settings and the PostgreSQL outbox of events (written in the
  transaction that concludes the call, so no event is lost when the CRM or MiniBot is down);
- `delivery`: the worker that sends due events, retrying with backoff;
- `lookup`: the pre-call lookup that returns extra variables for a contact.
"""
