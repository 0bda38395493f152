-- Each agent's own credential for restosync's calls to it (issue 13; docs/agent-protocol.md#signed-requests).
-- `outbound_token` is sent as the bearer token of every call to the agent, `signing_secret` ("whsec_" + base64 of
-- 32 random bytes) keys the HMAC-SHA256 `webhook-signature` of every call and is never sent. Both are issued at
-- registration and replaced with the agent's token; neither is accepted by any route of the API. They are
-- stored in clear: the server must sign with the secret (like the registration secret, they live where the
-- server's own configuration does).
ALTER TABLE agent_registry ADD COLUMN outbound_token text, ADD COLUMN signing_secret text;

-- Agents registered before: a fresh pair each (gen_random_uuid: 122 random bits; two per value). Their
-- agents learn it at their next registration; until then they see calls with a token and signature they
-- do not check yet, as before.
UPDATE agent_registry
SET outbound_token = 'rso_out_' || replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''),
    signing_secret = 'whsec_' || encode(
        decode(replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''), 'hex'), 'base64');

ALTER TABLE agent_registry ALTER COLUMN outbound_token SET NOT NULL, ALTER COLUMN signing_secret SET NOT NULL;
