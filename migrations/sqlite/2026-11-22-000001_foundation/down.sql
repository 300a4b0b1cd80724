DROP TABLE items;
DROP TABLE api_clients;
DROP TABLE organizations;
