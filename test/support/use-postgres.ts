import { POSTGRES_ADMIN_URL_VARIABLE } from './postgres';

// setupFile of the `e2e-postgres` project: the e2e suite against the machine's PostgreSQL.
process.env[POSTGRES_ADMIN_URL_VARIABLE] ??= 'postgres://postgres@127.0.0.1:5432/test';
