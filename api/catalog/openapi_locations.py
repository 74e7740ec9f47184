"""The location paths and schemas of the OpenAPI document (:mod:`api.catalog.openapi`), as
Backstage's catalog backend spec writes them: ``/locations``, ``/locations/{id}``,
``/locations/by-entity/…``, ``/analyze-location`` and ``/refresh``."""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]

_ERROR: Json = {"$ref": "#/components/responses/ErrorResponse"}
_ERRORS: Json = {"400": _ERROR, "401": _ERROR, "403": _ERROR, "default": _ERROR}


def _ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def _path(name: str) -> Json:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _json(schema: Json) -> Json:
    return {"application/json": {"schema": schema}}


def _body(schema: Json) -> Json:
    return {"required": True, "content": _json(schema)}


def _ok(schema: Json, status: str = "200") -> Json:
    return {status: {"description": "Ok", "content": _json(schema)}, **_ERRORS}


_LOCATION_SPEC: Json = {
    "type": "object",
    "required": ["type", "target"],
    "properties": {"type": {"type": "string"}, "target": {"type": "string"}},
    "additionalProperties": False,
}

LOCATION_SCHEMAS: Json = {
    "Location": {
        "type": "object",
        "required": ["id", "type", "target"],
        "properties": {
            "id": {"type": "string"},
            "type": {"type": "string"},
            "target": {"type": "string"},
        },
        "additionalProperties": False,
    },
    "LocationSpec": _LOCATION_SPEC,
    "AnalyzeLocationResponse": {
        "type": "object",
        "required": ["generateEntities", "existingEntityFiles"],
        "properties": {
            "existingEntityFiles": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["entity", "isRegistered", "location"],
                    "properties": {
                        "entity": _ref("Entity"),
                        "isRegistered": {"type": "boolean"},
                        "location": _ref("LocationSpec"),
                    },
                },
            },
            "generateEntities": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["entity", "fields"],
                    "properties": {
                        "entity": {"type": "object"},
                        "fields": {"type": "array", "items": {"type": "object"}},
                    },
                },
            },
        },
    },
}

_NOT_FOUND: Json = {"404": _ERROR}

LOCATION_PATHS: Json = {
    "/locations": {
        "get": {
            "operationId": "GetLocations",
            "description": "Every location registered over this API.",
            "responses": _ok(
                {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["data"],
                        "properties": {"data": _ref("Location")},
                    },
                }
            ),
        },
        "post": {
            "operationId": "CreateLocation",
            "description": "Registers a git repository (or a GitHub/GitLab blob or tree URL) "
            "and ingests it at once (admin role); 409 when registered already. With "
            "dryRun=true nothing is stored and the entities it holds are returned.",
            "parameters": [
                {"in": "query", "name": "dryRun", "required": False, "schema": {"type": "string"}}
            ],
            "requestBody": _body(_LOCATION_SPEC),
            "responses": {
                **_ok(
                    {
                        "type": "object",
                        "required": ["location", "entities"],
                        "properties": {
                            "location": _ref("Location"),
                            "entities": {"type": "array", "items": _ref("Entity")},
                            "exists": {"type": "boolean"},
                        },
                    },
                    "201",
                ),
                "409": _ERROR,
            },
        },
    },
    "/locations/{id}": {
        "get": {
            "operationId": "GetLocation",
            "parameters": [_path("id")],
            "responses": {**_ok(_ref("Location")), **_NOT_FOUND},
        },
        "delete": {
            "operationId": "DeleteLocation",
            "description": "Removes the location with every entity read from it (admin role).",
            "parameters": [_path("id")],
            "responses": {"204": {"description": "No content"}, **_NOT_FOUND, **_ERRORS},
        },
    },
    "/locations/by-entity/{kind}/{namespace}/{name}": {
        "get": {
            "operationId": "getLocationByEntity",
            "parameters": [_path("kind"), _path("namespace"), _path("name")],
            "responses": {**_ok(_ref("Location")), **_NOT_FOUND},
        }
    },
    "/analyze-location": {
        "post": {
            "operationId": "AnalyzeLocation",
            "description": "Reads a target without storing it (admin role): the descriptors "
            "found, or a Component to start from.",
            "requestBody": _body(
                {
                    "type": "object",
                    "required": ["location"],
                    "properties": {
                        "location": _ref("LocationSpec"),
                        "catalogFileName": {"type": "string"},
                    },
                }
            ),
            "responses": _ok(_ref("AnalyzeLocationResponse")),
        }
    },
    "/refresh": {
        "post": {
            "operationId": "RefreshEntity",
            "description": "Runs the source that holds the entity now (writer role); answers "
            "once the run ends.",
            "requestBody": _body(
                {
                    "type": "object",
                    "required": ["entityRef"],
                    "properties": {
                        "entityRef": {"type": "string"},
                        "authorizationToken": {"type": "string"},
                    },
                }
            ),
            "responses": {"200": {"description": "Refreshed"}, **_NOT_FOUND, **_ERRORS},
        }
    },
}
