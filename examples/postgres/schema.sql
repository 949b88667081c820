-- The shop database of examples/postgres: customers and their orders.
-- psql "$BRAID_PG_URL" -f examples/postgres/schema.sql
CREATE TABLE IF NOT EXISTS customers (
  customer_id int PRIMARY KEY,
  email text NOT NULL UNIQUE,
  first_name text NOT NULL,
  last_name text NOT NULL,
  phone text
);

CREATE TABLE IF NOT EXISTS orders (
  order_id int PRIMARY KEY,
  customer_id int NOT NULL REFERENCES customers,
  status text NOT NULL CHECK (status IN ('placed', 'shipped', 'cancelled')),
  total numeric(10, 2) NOT NULL CHECK (total >= 0)
);

INSERT INTO customers VALUES
  (1, 'ada@example.com', 'Ada', 'Lovelace', '+44 20 0000 0001'),
  (2, 'alan@example.com', 'Alan', 'Turing', '+44 20 0000 0002')
ON CONFLICT DO NOTHING;

INSERT INTO orders VALUES
  (100, 1, 'shipped', 52.54),
  (101, 2, 'placed', 12.00)
ON CONFLICT DO NOTHING;
