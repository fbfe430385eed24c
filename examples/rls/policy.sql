-- Row-level security on the demo data: an end user (the token's `sub`, a
-- customer id) sees only their own customer row and orders. The server sets
-- `app.user_id` transaction-locally before every statement when started with
-- DB_IDENTITY_SETTINGS=app.user_id=sub (or a tools-file postgres source's
-- `identity_settings: { app.user_id: sub }`).
--
-- The server must connect as a role that is neither a superuser nor
-- BYPASSRLS, and does not own the tables (or FORCE applies, as below):
-- superusers and BYPASSRLS roles skip every policy.
--
--   CREATE ROLE mcp_reader LOGIN PASSWORD '...' NOSUPERUSER NOBYPASSRLS;
--   GRANT USAGE ON SCHEMA public TO mcp_reader;
--   GRANT SELECT ON customers, orders TO mcp_reader;
--
-- current_setting('app.user_id', true) is NULL when the setting was never
-- made and '' for a caller without the claim: both match no row.

ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE customers FORCE ROW LEVEL SECURITY;
CREATE POLICY customers_self ON customers FOR SELECT
  USING (id::text = current_setting('app.user_id', true));

ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE orders FORCE ROW LEVEL SECURITY;
CREATE POLICY orders_of_the_user ON orders FOR SELECT
  USING (customer_id::text = current_setting('app.user_id', true));
