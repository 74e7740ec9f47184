"""Backstage's catalog REST API over the Stagegraph store, mounted at ``/api/catalog``: a
Backstage front end (or any ``@backstage/catalog-client``) reads the catalog from
Stagegraph. The read routes (:mod:`api.catalog.routes`), the first writes
(:mod:`api.catalog.writes`), their parameters
(:mod:`api.catalog.params`), the entity JSON (:mod:`api.catalog.entities`), the by-query
cursor (:mod:`api.catalog.cursor`), the error shape (:mod:`api.catalog.errors`) and the
OpenAPI document served at ``/api/catalog/openapi.json`` (:mod:`api.catalog.openapi`)."""

from api.catalog.app import CatalogApi

__all__ = ["CatalogApi"]
