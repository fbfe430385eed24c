/**
 * The demo data set every fresh install serves: customers and their orders,
 * generated deterministically in SQL so the embedded database and a real
 * PostgreSQL hold exactly the same rows.
 *
 * @module
 */

/** Row counts of the demo data set. */
export const DEMO_CUSTOMERS = 1000;
export const DEMO_ORDERS = 5000;

/** Tables of the demo data set. */
export const DEMO_SCHEMA_SQL = `
CREATE TABLE customers (
  id integer PRIMARY KEY,
  name text NOT NULL,
  email text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL
);
CREATE TABLE orders (
  id integer PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES customers (id),
  amount numeric(12, 2) NOT NULL CHECK (amount >= 0),
  status text NOT NULL CHECK (status IN ('pending', 'completed', 'cancelled')),
  created_at timestamptz NOT NULL
);
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
`;

// Names are first x last, so all 1000 differ; amounts and links come from
// multiplicative hashes of the row number, so every run yields the same rows.
/** Rows of the demo data set (run after {@linkcode DEMO_SCHEMA_SQL}). */
export const DEMO_SEED_SQL = `
INSERT INTO customers (id, name, email, created_at)
SELECT g,
       (ARRAY['Ada','Alan','Barbara','Claude','Donald','Edsger','Frances','Grace','Hedy','Ivan',
              'John','Katherine','Leslie','Margaret','Niklaus','Radia','Shafi','Tim','Vint','Whitfield'])[1 + (g - 1) % 20]
       || ' ' ||
       (ARRAY['Abbott','Baker','Carter','Diaz','Evans','Fischer','Garcia','Hughes','Ito','Jones',
              'Kim','Lopez','Moreau','Novak','Okafor','Patel','Quinn','Rossi','Silva','Tanaka',
              'Ueda','Vargas','Walker','Xu','Young','Zhang','Adler','Bose','Costa','Dubois',
              'Eriksen','Fontaine','Gupta','Haddad','Ibsen','Jensen','Kowalski','Larsen','Meyer','Nakamura',
              'Olsen','Petrov','Reyes','Schmidt','Torres','Umar','Volkov','Weber','Yilmaz','Ziegler'])[1 + ((g - 1) / 20) % 50],
       'customer' || g || '@example.com',
       timestamptz '2024-01-01 00:00:00+00' + ((g * 7919) % 365) * interval '1 day'
FROM generate_series(1, ${DEMO_CUSTOMERS}) AS g;

INSERT INTO orders (id, customer_id, amount, status, created_at)
SELECT g,
       1 + ((g * 7907) % ${DEMO_CUSTOMERS}),
       ((g * 104729) % 100000) / 100.0,
       (ARRAY['pending','completed','completed','completed','cancelled'])[1 + (g * 31) % 5],
       timestamptz '2025-01-01 00:00:00+00' + ((g * 6151) % 525600) * interval '1 minute'
FROM generate_series(1, ${DEMO_ORDERS}) AS g;

ANALYZE customers;
ANALYZE orders;
`;

/**
 * A checksum query over every demo table: the same data gives the same
 * digest on PGlite and PostgreSQL. Tests use it to prove nothing changed.
 */
export const DEMO_CHECKSUM_SQL = `
SELECT md5(string_agg(t, '|' ORDER BY t)) AS digest FROM (
  SELECT 'c' || c.id || ',' || c.name || ',' || c.email || ',' || extract(epoch FROM c.created_at) AS t FROM customers c
  UNION ALL
  SELECT 'o' || o.id || ',' || o.customer_id || ',' || o.amount || ',' || o.status || ',' || extract(epoch FROM o.created_at) FROM orders o
) rows
`;
