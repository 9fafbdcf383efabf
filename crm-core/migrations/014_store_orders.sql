-- Online-store order intake (issue 10 item 5): the stores that post orders, and deals keyed by their order.
-- Additive only: existing deals keep NULL in every new column.

CREATE TABLE stores (
  key         text PRIMARY KEY,
  name        text NOT NULL,
  -- shared secret: Bearer / X-Store-Secret for our own shape, the HMAC key of WooCommerce's webhook signature,
  -- used by the connector, never returned by the API
  secret      text NOT NULL,
  platform    text NOT NULL DEFAULT 'generic' CHECK (platform IN ('generic', 'woocommerce')),
  -- lead source label for buyers this store brings in
  source      text,
  region_id   integer REFERENCES regions(id) ON DELETE SET NULL,
  active      boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One deal per order: store key + the store's order number. The deal keeps the order's latest revision
-- (order_modified_at); an older revision delivered late never overwrites it.
ALTER TABLE deals
  ADD COLUMN store_key          text,
  ADD COLUMN order_number       text,
  ADD COLUMN currency           text,
  ADD COLUMN items              jsonb,
  ADD COLUMN delivery_address   text,
  ADD COLUMN order_status       text,
  ADD COLUMN order_modified_at  timestamptz,
  ADD COLUMN order_event_id     uuid,
  ADD COLUMN updated_at         timestamptz NOT NULL DEFAULT now();

CREATE UNIQUE INDEX deals_order_key ON deals (store_key, order_number) WHERE store_key IS NOT NULL;
