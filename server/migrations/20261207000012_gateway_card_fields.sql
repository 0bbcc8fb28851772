-- Whose card inputs the shopper types into: the gateway's own SDK (`gateway`)
-- or Paylet's (`paylet`). A store on a gateway's real API can take in-page
-- cards only through its SDK; any other (the sandbox) keeps Paylet's fields.
ALTER TABLE stores ADD COLUMN card_fields TEXT NOT NULL DEFAULT 'paylet';
-- (The same APIs as paylet_gateway::browser_sdk's official SDKs.)
UPDATE stores SET card_fields = 'gateway'
 WHERE lower(rtrim(gateway_api_base, '/')) IN ('https://api.stripe.com', 'https://connect.squareup.com',
                                               'https://connect.squareupsandbox.com');

-- Square style with the SDK: the buyer verification that goes with the card
-- token, so a retry under the same idempotency key sends the same request.
ALTER TABLE payment_attempts ADD COLUMN verification_token TEXT;
