//! `GET /openapi.json`: the server's routes as an OpenAPI 3.1 document, with the
//! protocol's request and response objects as schemas.

use serde_json::{Value, json};

fn op(summary: &str, ok: Value) -> Value {
    json!({
        "summary": summary,
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": ok}}},
            "4XX": {"description": "The request is wrong: an unknown model or route, a bad body",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        }
    })
}

fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// The document.
pub fn document() -> Value {
    let name =
        json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string"}});
    let version =
        json!({"name": "version", "in": "path", "required": true, "schema": {"type": "string"}});
    let infer = |params: Value| {
        let mut o = op("Inference", r("InferenceResponse"));
        o["parameters"] = params;
        o["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": r("InferenceRequest")}}});
        o["responses"]["503"] = json!({"description": "The server is full or shutting down; retry after the Retry-After header's seconds",
                                       "content": {"application/json": {"schema": r("Error")}}});
        json!({"post": o})
    };
    let with = |mut o: Value, params: Value| {
        o["parameters"] = params;
        json!({"get": o})
    };
    json!({
        "openapi": "3.1.0",
        "info": {"title": "lithe model server", "version": env!("CARGO_PKG_VERSION"),
                 "description": "The Open Inference Protocol (KServe v2) over HTTP/JSON for every lithe model."},
        "paths": {
            "/v2/health/live": {"get": op("Server live", json!({"type": "object", "properties": {"live": {"type": "boolean"}}}))},
            "/v2/health/ready": {"get": op("Server ready (503 while shutting down)", json!({"type": "object", "properties": {"ready": {"type": "boolean"}}}))},
            "/v2": {"get": op("Server metadata", r("ServerMetadata"))},
            "/v2/models/{name}": with(op("Model metadata", r("ModelMetadata")), json!([name])),
            "/v2/models/{name}/versions/{version}": with(op("Model metadata", r("ModelMetadata")), json!([name, version])),
            "/v2/models/{name}/ready": with(op("Model ready", r("ModelReady")), json!([name])),
            "/v2/models/{name}/versions/{version}/ready": with(op("Model ready", r("ModelReady")), json!([name, version])),
            "/v2/models/{name}/infer": infer(json!([name])),
            "/v2/models/{name}/versions/{version}/infer": infer(json!([name, version])),
            "/v2/repository/index": {"post": op("The served models and their versions", json!({"type": "array"}))},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "OK", "content": {"text/plain": {}}}}}},
            "/openapi.json": {"get": op("This document", json!({"type": "object"}))},
        },
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
            "ServerMetadata": {"type": "object", "properties": {"name": {"type": "string"}, "version": {"type": "string"},
                               "extensions": {"type": "array", "items": {"type": "string"}}}},
            "ModelReady": {"type": "object", "properties": {"name": {"type": "string"}, "ready": {"type": "boolean"}}},
            "MetadataTensor": {"type": "object", "required": ["name", "datatype", "shape"],
                               "properties": {"name": {"type": "string"}, "datatype": {"type": "string"},
                                              "shape": {"type": "array", "items": {"type": "integer"}}}},
            "ModelMetadata": {"type": "object", "properties": {"name": {"type": "string"},
                              "versions": {"type": "array", "items": {"type": "string"}}, "platform": {"type": "string"},
                              "inputs": {"type": "array", "items": r("MetadataTensor")},
                              "outputs": {"type": "array", "items": r("MetadataTensor")}}},
            "RequestInput": {"type": "object", "required": ["name", "shape", "datatype", "data"],
                             "properties": {"name": {"type": "string"}, "shape": {"type": "array", "items": {"type": "integer"}},
                                            "datatype": {"type": "string", "enum": ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES", "BF16"]},
                                            "parameters": {"type": "object"}, "data": {"type": "array"}}},
            "InferenceRequest": {"type": "object", "required": ["inputs"],
                                 "properties": {"id": {"type": "string"}, "parameters": {"type": "object"},
                                                "inputs": {"type": "array", "items": r("RequestInput")},
                                                "outputs": {"type": "array", "items": {"type": "object", "required": ["name"],
                                                            "properties": {"name": {"type": "string"}, "parameters": {"type": "object"}}}}}},
            "ResponseOutput": {"type": "object", "properties": {"name": {"type": "string"}, "shape": {"type": "array", "items": {"type": "integer"}},
                               "datatype": {"type": "string"}, "data": {"type": "array"}}},
            "InferenceResponse": {"type": "object", "required": ["model_name", "outputs"],
                                  "properties": {"model_name": {"type": "string"}, "model_version": {"type": "string"}, "id": {"type": "string"},
                                                 "outputs": {"type": "array", "items": r("ResponseOutput")}}},
        }}
    })
}
