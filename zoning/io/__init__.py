"""Reading and writing many sites, apart from the core: files in, frames out, and back.

- :mod:`zoning.io.read` — :func:`open_sites`: any vector file GDAL reads, GeoParquet,
  CSV/XLSX tables with lon/lat columns, read chunk by chunk.
- :mod:`zoning.io.write` — :func:`open_writer`: GeoPackage, GeoParquet, CSV, XLSX,
  written chunk by chunk to a temporary file renamed into place at the end.
- :mod:`zoning.io.columns` — project columns and the columns a batch run adds.
"""

from zoning.io.columns import RESULT_COLUMNS, project_frame
from zoning.io.read import SiteChunk, SiteReader, open_sites
from zoning.io.write import OUTPUT_SUFFIXES, JsonlWriter, open_writer

__all__ = ["open_sites", "SiteReader", "SiteChunk", "open_writer", "JsonlWriter", "OUTPUT_SUFFIXES", "RESULT_COLUMNS", "project_frame"]
