//! `GET /openapi.json`: the API described for clients and code generators (OpenAPI 3.1).

use serde_json::{json, Value};

pub fn document() -> Value {
    let article = json!({
        "type": "object",
        "required": ["id", "text"],
        "properties": {
            "id": {"type": "string"},
            "text": {"type": "string", "description": "Article text (HTML already turned into text); NFC-normalised on input"},
            "title": {"type": "string"},
            "date": {"type": "string", "description": "YYYY-MM-DD, an ISO timestamp, or dd/mm/yyyy"},
            "url": {"type": "string"},
            "source": {"type": "string"}
        }
    });
    let articles_body = json!({
        "required": true,
        "content": {"application/json": {"schema": {
            "type": "object", "required": ["articles"],
            "properties": {"articles": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Article"}}}
        }}}
    });
    let results = |what: &str| {
        json!({
            "200": {"description": what, "content": {"application/json": {"schema": {
                "type": "object",
                "properties": {
                    "results": {"type": "array", "items": {"type": "object"}},
                    "errors": {"type": "array", "items": {"$ref": "#/components/schemas/ItemError"}}
                }
            }}}},
            "400": {"$ref": "#/components/responses/BadRequest"},
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "413": {"$ref": "#/components/responses/TooLarge"},
            "429": {"$ref": "#/components/responses/Overloaded"},
            "503": {"$ref": "#/components/responses/Unavailable"},
            "504": {"$ref": "#/components/responses/Timeout"}
        })
    };
    let err = |d: &str| json!({"description": d, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "bantin",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Vietnamese policy news: classify by theme, summarise, embed, ingest and digest. Every /v1 route needs `Authorization: Bearer KEY` when the service was started with --api-key."
        },
        "paths": {
            "/health": {"get": {"summary": "200 with the model's provenance once loaded; 503 while loading", "responses": {"200": {"description": "ready"}, "503": {"description": "loading"}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics (text format)", "responses": {"200": {"description": "metrics"}}}},
            "/v1/classify": {"post": {"summary": "Primary theme and theme set per article (as `bantin classify` lines)", "requestBody": articles_body.clone(), "responses": results("classifications")}},
            "/v1/summarize": {"post": {"summary": "Summaries per article (as `bantin summarize` lines)", "requestBody": articles_body.clone(), "responses": results("summaries")}},
            "/v1/analyze": {"post": {"summary": "Everything per article (as lines of articles.jsonl)", "requestBody": articles_body.clone(), "responses": results("analyses")}},
            "/v1/articles": {"post": {"summary": "Analyse and keep in the state store; acknowledged after the commit; idempotent by content (status stored | unchanged)", "requestBody": articles_body, "responses": results("ingested")}},
            "/v1/embed": {"post": {
                "summary": "Sentence vectors",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["texts"],
                    "properties": {"texts": {"type": "array", "minItems": 1, "items": {"type": "string"}}, "role": {"enum": ["query", "passage"], "default": "query"}}
                }}}},
                "responses": {"200": {"description": "{embeddings, tokens, windows, dim, model}"}, "400": {"$ref": "#/components/responses/BadRequest"}, "429": {"$ref": "#/components/responses/Overloaded"}}
            }},
            "/v1/digest": {"get": {
                "summary": "The digest of what the state store holds",
                "parameters": [
                    {"name": "since", "in": "query", "schema": {"type": "string", "format": "date"}},
                    {"name": "format", "in": "query", "schema": {"enum": ["json", "md", "html"], "default": "json"}},
                    {"name": "title", "in": "query", "schema": {"type": "string"}},
                    {"name": "lang", "in": "query", "schema": {"enum": ["vi", "en"], "default": "vi"}}
                ],
                "responses": {"200": {"description": "digest.json, digest.md or digest.html"}, "400": {"$ref": "#/components/responses/BadRequest"}}
            }}
        },
        "components": {
            "schemas": {
                "Article": article,
                "ItemError": {"type": "object", "properties": {"origin": {"type": "string", "description": "articles[i]"}, "id": {"type": "string"}, "message": {"type": "string"}}},
                "Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {"status": {"type": "integer"}, "code": {"type": "string"}, "message": {"type": "string"}}}}}
            },
            "responses": {
                "BadRequest": err("malformed JSON or a wrong type; the message names the field"),
                "Unauthorized": err("missing or wrong bearer token"),
                "TooLarge": err("body over --max-body"),
                "Overloaded": err("queue full; see Retry-After"),
                "Unavailable": err("model loading or shutting down"),
                "Timeout": err("no answer within --request-timeout")
            }
        }
    })
}
