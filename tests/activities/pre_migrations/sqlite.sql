-- The configuration store as hookflow created it before it had migrations
-- (SQLModel.metadata.create_all, sqlite); the migration tests upgrade it.

CREATE TABLE attempt (
	id INTEGER NOT NULL,
	delivery_id VARCHAR(200) NOT NULL,
	attempt INTEGER NOT NULL,
	started_at DATETIME NOT NULL,
	status_code INTEGER,
	latency_ms FLOAT NOT NULL,
	outcome VARCHAR(16) NOT NULL,
	error TEXT,
	response_excerpt TEXT,
	PRIMARY KEY (id)
);

CREATE INDEX ix_attempt_delivery_id ON attempt (delivery_id);

CREATE TABLE delivery (
	id VARCHAR(200) NOT NULL,
	project VARCHAR(64) NOT NULL,
	session_id VARCHAR(64) NOT NULL,
	webhook_id CHAR(32) NOT NULL,
	event_id VARCHAR(128) NOT NULL,
	event_type VARCHAR(64) NOT NULL,
	sequence INTEGER NOT NULL,
	status VARCHAR(16) NOT NULL,
	attempts INTEGER NOT NULL,
	status_code INTEGER,
	last_error TEXT,
	envelope JSON NOT NULL,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL,
	PRIMARY KEY (id)
);

CREATE INDEX ix_delivery_project ON delivery (project);

CREATE INDEX ix_delivery_session_id ON delivery (session_id);

CREATE INDEX ix_delivery_status ON delivery (status);

CREATE INDEX ix_delivery_webhook_id ON delivery (webhook_id);

CREATE TABLE sealed_text (
	id VARCHAR(64) NOT NULL,
	text_enc TEXT NOT NULL,
	expires_at DATETIME NOT NULL,
	PRIMARY KEY (id)
);

CREATE TABLE secret (
	id CHAR(32) NOT NULL,
	project VARCHAR(64) NOT NULL,
	alias VARCHAR(100) NOT NULL,
	token_url VARCHAR(2048) NOT NULL,
	convention VARCHAR(32) NOT NULL,
	credentials_enc TEXT NOT NULL,
	created_at DATETIME NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uq_secret_project_alias UNIQUE (project, alias)
);

CREATE INDEX ix_secret_project ON secret (project);

CREATE TABLE storage (
	project VARCHAR(64) NOT NULL,
	backend VARCHAR(16) NOT NULL,
	path VARCHAR(500) NOT NULL,
	zip BOOLEAN NOT NULL,
	enabled BOOLEAN NOT NULL,
	updated_at DATETIME NOT NULL,
	PRIMARY KEY (project)
);

CREATE TABLE webhook (
	id CHAR(32) NOT NULL,
	project VARCHAR(64) NOT NULL,
	alias VARCHAR(100) NOT NULL,
	type VARCHAR(32) NOT NULL,
	explicit BOOLEAN NOT NULL,
	url VARCHAR(2048) NOT NULL,
	timeout FLOAT NOT NULL,
	verify_ssl BOOLEAN NOT NULL,
	headers JSON NOT NULL,
	auth VARCHAR(16) NOT NULL,
	basic_username VARCHAR,
	basic_password_enc TEXT,
	custom_auth_enc TEXT,
	secret_alias VARCHAR,
	content_type VARCHAR(8) NOT NULL,
	accept VARCHAR(8) NOT NULL,
	retry_schedule JSON,
	signing_secret_enc TEXT,
	previous_signing_secret_enc TEXT,
	previous_signing_secret_until DATETIME,
	failover_url VARCHAR(2048),
	enabled BOOLEAN NOT NULL,
	disabled_reason VARCHAR,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uq_webhook_project_alias UNIQUE (project, alias)
);

CREATE INDEX ix_webhook_project ON webhook (project);

CREATE TABLE webhook_template (
	webhook_id CHAR(32) NOT NULL,
	template VARCHAR(64) NOT NULL,
	PRIMARY KEY (webhook_id, template),
	FOREIGN KEY(webhook_id) REFERENCES webhook (id) ON DELETE CASCADE
);

CREATE INDEX ix_webhook_template_template ON webhook_template (template);
