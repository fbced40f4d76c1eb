-- Version 14: the network address a server saw an agent's report come from (the agent's
-- own host name may say nothing: containers, namespaces).

ALTER TABLE agents ADD COLUMN addr TEXT NOT NULL DEFAULT '';
