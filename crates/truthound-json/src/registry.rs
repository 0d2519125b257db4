//! JSON Schemas from a Confluent schema registry, by the id in each payload's frame, compiled
//! once per id.

use std::fmt;
use std::sync::Arc;

use truthound_registry::{RegistryClient, RegistryConfig, RegistryError, SchemaCache, SchemaType};
use truthound_streaming_core::DeserializeFailure;

use crate::schema::Shapes;

/// A schema registry client with its cache of compiled JSON Schemas.
pub(crate) struct Registry {
    client: RegistryClient,
    schemas: SchemaCache<Shapes>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("client", &self.client)
            .field("schemas", &self.schemas)
            .finish()
    }
}

impl Registry {
    pub(crate) fn new(config: RegistryConfig) -> Result<Self, RegistryError> {
        let client = config.connect()?;
        Ok(Self {
            schemas: client.cache(),
            client,
        })
    }

    /// The compiled schema with this id, fetched on first use.
    pub(crate) fn shapes(&self, id: u32) -> Result<Arc<Shapes>, DeserializeFailure> {
        self.schemas.get_or_load(id, || {
            let url = self.client.schema_url(id);
            let schema = self
                .client
                .schema_by_id(id, SchemaType::Json)
                .map_err(|e| {
                    self.client
                        .scrub(format!("could not get JSON Schema id {id} from {url}: {e}"))
                })?;
            let references: Vec<(&str, &str)> = schema
                .references
                .iter()
                .map(|r| (r.name.as_str(), r.schema.as_str()))
                .collect();
            Shapes::compile(&schema.schema, &references).map_err(|reason| {
                self.client.scrub(format!(
                    "JSON Schema id {id} ({url}) cannot be used: {reason}"
                ))
            })
        })
    }
}
