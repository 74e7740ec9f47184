"""The OpenAPI 3.0 document of what ``/api/catalog`` serves (``GET /api/catalog/openapi.json``).

It follows Backstage's catalog backend spec for the routes Stagegraph serves: the same
paths, parameters, response shapes and status codes. A test checks that every route of
:class:`api.catalog.CatalogApi` is described here and nothing else is.
"""

from __future__ import annotations

from typing import Any

from api.catalog.openapi_locations import LOCATION_PATHS, LOCATION_SCHEMAS

Json = dict[str, Any]


def _ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def _query(name: str, description: str, schema: Json, **more: Any) -> Json:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
        **more,
    }


def _path(name: str) -> Json:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


_STRINGS = {"type": "array", "items": {"type": "string"}}
_COUNT = {"type": "integer", "minimum": 0}
_ERRORS = {
    "400": {"$ref": "#/components/responses/ErrorResponse"},
    "401": {"$ref": "#/components/responses/ErrorResponse"},
    "403": {"$ref": "#/components/responses/ErrorResponse"},
    "default": {"$ref": "#/components/responses/ErrorResponse"},
}

PARAMETERS: Json = {
    "filter": _query(
        "filter",
        "A filter set: key=value or key (exists) conditions separated by commas, all of "
        "which must hold; repeat the parameter for alternatives (any set may hold). Keys are "
        "dot paths into the entity (metadata.annotations.x, spec.type, relations.ownedBy); "
        "keys and values match case-insensitively.",
        _STRINGS,
    ),
    "fields": _query(
        "fields",
        "Comma-separated dot paths to keep of each entity (all of it when absent).",
        _STRINGS,
        explode=False,
    ),
    "offset": _query("offset", "Entities to skip.", _COUNT),
    "limit": _query("limit", "Most entities to return.", _COUNT),
    "after": _query("after", "The after of the previous answer's Link header.", {"type": "string"}),
    "order": _query("order", "asc:<field> or desc:<field>, repeatable.", _STRINGS),
    "orderField": _query(
        "orderField", "<field>,asc or <field>,desc, repeatable.", _STRINGS, explode=True
    ),
    "cursor": _query(
        "cursor",
        "A nextCursor or prevCursor of an earlier answer; filter, orderField and the full-text "
        "filter then come from it.",
        {"type": "string", "minLength": 1},
    ),
    "fullTextFilterTerm": _query(
        "fullTextFilterTerm",
        "Text that some value of the full-text fields contains.",
        {"type": "string"},
    ),
    "fullTextFilterFields": _query(
        "fullTextFilterFields",
        "Comma-separated dot paths the term is looked for in (default: the first orderField, "
        "else metadata.uid).",
        _STRINGS,
        explode=False,
    ),
    "facet": {
        **_query("facet", "A dot path to count values of, repeatable.", _STRINGS),
        "required": True,
    },
}

SCHEMAS: Json = {
    "Error": {
        "type": "object",
        "required": ["error", "request", "response"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["name", "message"],
                "properties": {"name": {"type": "string"}, "message": {"type": "string"}},
            },
            "request": {
                "type": "object",
                "required": ["method", "url"],
                "properties": {"method": {"type": "string"}, "url": {"type": "string"}},
            },
            "response": {
                "type": "object",
                "required": ["statusCode"],
                "properties": {"statusCode": {"type": "number"}},
            },
        },
    },
    "EntityRelation": {
        "type": "object",
        "required": ["type", "targetRef"],
        "properties": {"type": {"type": "string"}, "targetRef": {"type": "string"}},
        "additionalProperties": False,
    },
    "Entity": {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "namespace": {"type": "string"},
                    "uid": {"type": "string", "description": "Stable across ingestion runs."},
                    "etag": {"type": "string", "description": "Changes when the entity does."},
                    "title": {"type": "string"},
                    "description": {"type": "string"},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                    "tags": _STRINGS,
                    "links": {"type": "array", "items": {"type": "object"}},
                },
                "additionalProperties": True,
            },
            "spec": {"type": "object", "additionalProperties": True},
            "relations": {"type": "array", "items": _ref("EntityRelation")},
        },
    },
    "NullableEntity": {"allOf": [_ref("Entity")], "nullable": True},
    "EntitiesBatchResponse": {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": _ref("NullableEntity")}},
    },
    "EntitiesQueryResponse": {
        "type": "object",
        "required": ["items", "totalItems", "pageInfo"],
        "properties": {
            "items": {"type": "array", "items": _ref("Entity")},
            "totalItems": {"type": "number"},
            "pageInfo": {
                "type": "object",
                "properties": {
                    "nextCursor": {"type": "string"},
                    "prevCursor": {"type": "string"},
                },
            },
        },
    },
    "EntityAncestryResponse": {
        "type": "object",
        "required": ["rootEntityRef", "items"],
        "properties": {
            "rootEntityRef": {"type": "string"},
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["entity", "parentEntityRefs"],
                    "properties": {"entity": _ref("Entity"), "parentEntityRefs": _STRINGS},
                },
            },
        },
    },
    "EntityFacetsResponse": {
        "type": "object",
        "required": ["facets"],
        "properties": {
            "facets": {
                "type": "object",
                "additionalProperties": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["value", "count"],
                        "properties": {"value": {"type": "string"}, "count": {"type": "number"}},
                    },
                },
            }
        },
    },
}


def _ok(schema: Json, description: str = "Ok") -> Json:
    return {
        "200": {"description": description, "content": {"application/json": {"schema": schema}}},
        **_ERRORS,
    }


def _params(*names: str) -> list[Json]:
    return [{"$ref": f"#/components/parameters/{name}"} for name in names]


_BY_NAME = [_path("kind"), _path("namespace"), _path("name")]

PATHS: Json = {
    "/entities": {
        "get": {
            "operationId": "GetEntities",
            "description": "Entities matching the filter; with limit, a Link header (rel=next).",
            "parameters": _params("fields", "limit", "filter", "offset", "after", "order"),
            "responses": _ok({"type": "array", "items": _ref("Entity")}),
        }
    },
    "/entities/by-query": {
        "get": {
            "operationId": "GetEntitiesByQuery",
            "description": "A page of entities with the total and cursors both ways.",
            "parameters": _params(
                "fields",
                "limit",
                "offset",
                "orderField",
                "cursor",
                "filter",
                "fullTextFilterTerm",
                "fullTextFilterFields",
            ),
            "responses": _ok(_ref("EntitiesQueryResponse")),
        }
    },
    "/entities/by-refs": {
        "post": {
            "operationId": "GetEntitiesByRefs",
            "description": "Entities by ref, in request order; null where none matches.",
            "parameters": _params("filter"),
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["entityRefs"],
                            "properties": {"entityRefs": _STRINGS, "fields": _STRINGS},
                        }
                    }
                },
            },
            "responses": _ok(_ref("EntitiesBatchResponse")),
        }
    },
    "/entities/by-uid/{uid}": {
        "get": {
            "operationId": "GetEntityByUid",
            "parameters": [_path("uid")],
            "responses": {**_ok(_ref("Entity")), "404": _ERRORS["default"]},
        },
        "delete": {
            "operationId": "DeleteEntityByUid",
            "description": "Deletes the entity (writer role); its source may bring it back.",
            "parameters": [_path("uid")],
            "responses": {"204": {"description": "Deleted."}, "404": _ERRORS["default"], **_ERRORS},
        },
    },
    "/validate-entity": {
        "post": {
            "operationId": "ValidateEntity",
            "description": "200 with no body when the entity is valid; 400 with the errors.",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["entity", "location"],
                            "properties": {
                                "entity": {"type": "object"},
                                "location": {"type": "string"},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {"description": "Valid."},
                "400": {
                    "description": "Validation errors.",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["errors"],
                                "properties": {
                                    "errors": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["name", "message"],
                                            "properties": {
                                                "name": {"type": "string"},
                                                "message": {"type": "string"},
                                            },
                                        },
                                    }
                                },
                            }
                        }
                    },
                },
            },
        }
    },
    "/entities/by-name/{kind}/{namespace}/{name}": {
        "get": {
            "operationId": "GetEntityByName",
            "parameters": _BY_NAME,
            "responses": {**_ok(_ref("Entity")), "404": _ERRORS["default"]},
        }
    },
    "/entities/by-name/{kind}/{namespace}/{name}/ancestry": {
        "get": {
            "operationId": "GetEntityAncestryByName",
            "description": "The entity, then the registered location it was read from.",
            "parameters": _BY_NAME,
            "responses": {**_ok(_ref("EntityAncestryResponse")), "404": _ERRORS["default"]},
        }
    },
    "/entity-facets": {
        "get": {
            "operationId": "GetEntityFacets",
            "parameters": _params("facet", "filter"),
            "responses": _ok(_ref("EntityFacetsResponse")),
        }
    },
    **LOCATION_PATHS,
    "/openapi.json": {
        "get": {
            "operationId": "GetOpenApiDocument",
            "description": "This document.",
            "security": [],
            "responses": {"200": {"description": "Ok"}},
        }
    },
}


def openapi_document() -> Json:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "catalog",
            "version": "1",
            "description": "Backstage's catalog REST API as Stagegraph serves it.",
        },
        "servers": [{"url": "/api/catalog"}],
        "security": [{}, {"JWT": []}],
        "components": {
            "parameters": PARAMETERS,
            "schemas": {**SCHEMAS, **LOCATION_SCHEMAS},
            "responses": {
                "ErrorResponse": {
                    "description": "An error in Backstage's error shape.",
                    "content": {"application/json": {"schema": _ref("Error")}},
                }
            },
            "securitySchemes": {"JWT": {"type": "http", "scheme": "bearer"}},
        },
        "paths": PATHS,
    }


def declared_query(path: str, method: str) -> frozenset[str]:
    """The query parameters ``method path`` declares (a route template, e.g.
    ``/locations/{id}``); none for an operation the document does not have."""
    operation = PATHS.get(path, {}).get(method.lower(), {})
    names = set()
    for parameter in operation.get("parameters", []):
        ref = parameter.get("$ref")
        found = PARAMETERS[ref.rsplit("/", 1)[1]] if ref else parameter
        if found.get("in") == "query":
            names.add(found["name"])
    return frozenset(names)
