-- Databases of the local stack (the same ones infra/src/postgres.ts creates).
CREATE DATABASE apicurio;
CREATE DATABASE demo;
