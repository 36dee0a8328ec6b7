"""Read CSV exports of earlier Avito and Moteur.ma scrapes into the raw layer's row shape.

Headers are matched by meaning, not position: the sites' French labels ("Année-Modèle", "Kilométrage"),
the snake_case and kebab-case variants seen in public exports ("annee_modele", "prix-dh") and English
names all map to one field. Rows that cannot be trusted at this stage (misaligned, empty, exact
duplicates) are returned as rejections with a reason, so that read = imported + rejected always holds.
Value checks (prices, years, mileage) belong to the warehouse's quarantine, not here.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from autolist_assets.sources.privacy import hash_pii
from autolist_assets.sources.text import parse_price_dh

# Each raw field and the normalized headers that mean it (see normalize_header).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "url": ("url", "lien", "link", "lien_annonce", "url_annonce", "href", "ad_url"),
    "title": ("title", "titre", "voiture", "nom", "subject", "annonce", "titre_annonce"),
    "price_text": ("price_raw", "prix", "prix_dh", "price", "prix_raw", "price_dh", "prix_mad", "prix_en_dh"),
    "year": ("annee_modele", "annee", "annee_pub", "year", "regdate", "model_year", "annee_de_modele"),
    "gearbox": ("boite_de_vitesses", "boite_vitesse", "boite_vitesses", "boite", "gearbox", "bv", "transmission"),
    "fuel": ("type_de_carburant", "carburant", "fuel", "energie"),
    "mileage_text": ("kilometrage", "km", "mileage", "mileage_exact", "kilometrage_km"),
    "brand": ("marque", "brand", "make"),
    "model": ("modele", "model_name"),
    "doors": ("nombre_de_portes", "portes", "doors", "nb_portes"),
    "origin": ("origine", "origin", "v_origin"),
    "first_owner": ("premiere_main", "first_owner", "first_hand"),
    "fiscal_power": ("puissance_fiscale", "pfiscale", "fiscal_power", "cv", "puissance_fiscale_cv"),
    "condition": ("etat", "condition", "auto_condition", "etat_du_vehicule"),
    "city": ("ville", "lieu", "localisation", "city", "location"),
    "sector": ("secteur", "sector", "quartier"),
    "seller_name": ("nom_proprietaire", "vendeur", "seller", "seller_name", "nom_vendeur"),
    "seller_phone": ("telephone", "tel", "phone", "seller_phone", "numero"),
    "seller_type": ("type_vendeur", "seller_type", "type_de_vendeur"),
    "category": ("type_vehicule", "categorie", "category", "type_de_vehicule"),
    "posted_text": ("date", "date_publication", "posted_at", "list_time", "date_annonce", "publication"),
    "version": ("version", "finition", "trim"),
}
HEADER_TO_FIELD = {alias: name for name, aliases in COLUMN_ALIASES.items() for alias in aliases}
# Index columns that pandas and spreadsheets add; they carry nothing.
IGNORED_HEADERS = {"", "unnamed_0", "index", "n"}
PLACEHOLDERS = {"", "n/a", "na", "n/d", "nd", "--", "-", "null", "none", "nan"}
FUELS = {"Diesel", "Essence", "Hybride", "Electrique", "LPG"}
# Button labels that list-card scrapers capture instead of a value when the card's <li> order shifts.
BUTTON_TEXTS = {"Afficher l'annonce", "Appeler pour le prix", "Se faire rappeler", "Booster l'annonce"}
AVITO_ID = re.compile(r"_(\d{5,10})\.htm")
MOTEUR_ID = re.compile(r"/detail-annonce/(\d+)/")
YEAR_VALUE = re.compile(r"^(19|20)\d\d$")


class ImportLayoutError(ValueError):
    """A CSV whose columns cannot be mapped onto listing fields."""


@dataclass
class ImportResult:
    """What one file gave: rows in the raw shape, rejections with reasons, and how headers were mapped."""

    path: Path
    source: str
    rows_read: int
    rows: list[dict]
    rejections: list[dict]
    column_map: dict[str, str]
    unmapped: list[str] = field(default_factory=list)

    @property
    def rejected_by_reason(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for rejection in self.rejections:
            counts[rejection["reason"]] = counts.get(rejection["reason"], 0) + 1
        return dict(sorted(counts.items()))


def normalize_header(header: str) -> str:
    """'Année-Modèle' → 'annee_modele', 'prix-dh' → 'prix_dh', '\\ufeffURL' → 'url'."""
    text = unicodedata.normalize("NFKD", header.replace("\ufeff", "")).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _sniff_delimiter(sample: str) -> str:
    first_line = sample.splitlines()[0] if sample else ""
    return ";" if first_line.count(";") > first_line.count(",") else ","


def map_columns(headers: list[str], frame: pd.DataFrame) -> tuple[dict[str, str], list[str]]:
    """Map each header to a field; returns {header: field} and the headers that map to nothing."""
    mapping: dict[str, str] = {}
    unmapped: list[str] = []
    for header in headers:
        key = normalize_header(header)
        if key == "model":
            # Moteur card exports name the model *year* column "model": decide by its values.
            values = frame[header].str.strip()
            looks_like_years = _share(values[values != ""].str.match(YEAR_VALUE)) > 0.8
            target = "year" if looks_like_years else "model"
        else:
            target = HEADER_TO_FIELD.get(key)
        if target and target not in mapping.values():
            mapping[header] = target
        elif key not in IGNORED_HEADERS:
            unmapped.append(header)
    return mapping, unmapped


def _clean(series: pd.Series) -> pd.Series:
    """Strip zero-width characters and no-break spaces; placeholders become missing."""
    cleaned = (
        series.str.replace("[\u200b\u200c\u200d\ufeff]", "", regex=True)
        .str.replace("[\u00a0\u202f]", " ", regex=True)
        .str.strip()
    )
    return cleaned.mask(cleaned.str.lower().isin(PLACEHOLDERS))


def _leading_int(series: pd.Series) -> pd.Series:
    """'6 CV' → 6, '2019' → 2019, '1980 ou plus ancien' → 1980."""
    return pd.to_numeric(series.str.extract(r"^(\d+)", expand=False), errors="coerce").astype("Int64")


def _exact_km(series: pd.Series) -> pd.Series:
    """Exact mileage ('102000', '54 000', '99 000 km'); buckets such as '100 000 - 109 999' stay missing."""
    compact = series.str.replace(r"\s|km", "", regex=True, case=False)
    return pd.to_numeric(compact.where(compact.str.fullmatch(r"\d+", na=False)), errors="coerce").astype("Int64")


def parse_posted_dates(series: pd.Series) -> pd.Series:
    """Dates as ISO or d/m/y, where a file may mix MM/DD and DD/MM (as one Moteur export does).

    An ambiguous date takes the reading closest to the file's unambiguous dates, since an export covers
    a short scrape window.
    """
    iso = pd.to_datetime(series, errors="coerce", format="ISO8601", utc=True)
    parts = series.str.extract(r"^(\d{1,2})/(\d{1,2})/(\d{4})$").astype("float")
    day_first = pd.to_datetime(
        pd.DataFrame({"year": parts[2], "month": parts[1], "day": parts[0]}), errors="coerce", utc=True
    )
    month_first = pd.to_datetime(
        pd.DataFrame({"year": parts[2], "month": parts[0], "day": parts[1]}), errors="coerce", utc=True
    )
    unambiguous = day_first.where(month_first.isna()).fillna(month_first.where(day_first.isna()))
    anchor = unambiguous.dropna().median() if unambiguous.notna().any() else day_first.dropna().median()
    if pd.isna(anchor):
        closest = day_first.fillna(month_first)
    else:
        prefer_day_first = (day_first - anchor).abs() <= (month_first - anchor).abs()
        closest = day_first.where(prefer_day_first | month_first.isna(), month_first)
    return iso.fillna(closest)


def _share(flags: pd.Series) -> float:
    """Share of True among the known flags; 0 when there is none (an empty or all-blank column)."""
    known = flags.dropna()
    return float(known.astype(bool).mean()) if len(known) else 0.0


def detect_source(frame: pd.DataFrame) -> str | None:
    """avito or moteur from URLs, else from price wording ('Dhs' and 'Appeler…' are Moteur's), else None."""
    if "url" in frame:
        hosts = frame["url"].dropna()
        if _share(hosts.str.contains("moteur.ma", regex=False)) > 0.5:
            return "moteur"
        if _share(hosts.str.contains("avito.ma", regex=False)) > 0.5:
            return "avito"
    if "price_text" in frame:
        prices = frame["price_text"].dropna()
        moteur_votes = prices.str.contains(r"Dhs|Appeler pour le prix", regex=True).sum()
        avito_votes = prices.str.contains(r"\bDH$|Demander le prix|Prix non spécifié", regex=True).sum()
        if moteur_votes != avito_votes:
            return "moteur" if moteur_votes > avito_votes else "avito"
    if "title" in frame and "brand" not in frame:
        # Moteur titles start with the brand in capitals: "LAND-ROVER  Range rover sport".
        if _share(frame["title"].dropna().str.match(r"^[A-Z][A-Z\-]+\s")) > 0.8:
            return "moteur"
    return None


def read_csv_export(path: Path, source: str = "auto", pii_salt: str = "") -> ImportResult:
    """Parse one CSV export into raw rows plus rejections; raises ImportLayoutError on an unknown layout."""
    raw_bytes = path.read_bytes()
    text = raw_bytes.decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text), delimiter=_sniff_delimiter(text[:4096]))
    try:
        headers = next(reader)
    except StopIteration:
        raise ImportLayoutError(f"{path}: the file is empty (no header row)") from None

    good: list[list[str]] = []
    good_lines: list[int] = []
    rejections: list[dict] = []
    rows_read = 0
    for line_number, record in enumerate(reader, start=2):
        rows_read += 1
        if len(record) != len(headers):
            rejections.append(
                {
                    "import_row": line_number,
                    "reason": "wrong_column_count",
                    "detail": f"line {line_number} has {len(record)} fields, the header has {len(headers)}",
                    "record": record,
                }
            )
        elif not any(value.strip() for value in record):
            rejections.append({"import_row": line_number, "reason": "empty_row", "detail": "", "record": record})
        else:
            good.append(record)
            good_lines.append(line_number)

    by_header = pd.DataFrame(good, columns=headers, dtype="string")
    mapping, unmapped = map_columns(headers, by_header)
    if "price_text" not in mapping.values() or not {"brand", "title"} & set(mapping.values()):
        raise ImportLayoutError(
            f"{path}: cannot map the columns {unmapped or headers} onto listing fields; need a price column "
            f"and a brand or title column (known headers: {', '.join(sorted(HEADER_TO_FIELD))})"
        )

    frame = pd.DataFrame({target: _clean(by_header[header]) for header, target in mapping.items()})
    frame["import_row"] = good_lines
    frame["_record"] = [dict(zip(headers, values)) for values in good]

    # Exact duplicate rows are one listing captured twice; the first copy is kept. Index columns that
    # a spreadsheet or pandas added differ on every row and say nothing, so they are left out.
    meaningful = [h for h in headers if normalize_header(h) not in IGNORED_HEADERS]
    duplicated = by_header.duplicated(subset=meaningful, keep="first").to_numpy()
    for position in duplicated.nonzero()[0]:
        rejections.append(
            {
                "import_row": good_lines[position],
                "reason": "duplicate_row",
                "detail": "identical to an earlier row",
                "record": good[position],
            }
        )
    frame = frame[~duplicated].reset_index(drop=True)

    resolved_source = detect_source(frame) if source == "auto" else source
    if resolved_source not in ("avito", "moteur"):
        raise ImportLayoutError(f"{path}: cannot tell whether this is an Avito or a Moteur.ma export; pass --source")

    rows = _to_raw_rows(frame, resolved_source, path.name, pii_salt)
    listing_ids = pd.Series([row["listing_id"] for row in rows])
    repeated = listing_ids.duplicated(keep="first").to_numpy()
    for position in repeated.nonzero()[0]:
        rejections.append(
            {
                "import_row": rows[position]["import_row"],
                "reason": "duplicate_listing_id",
                "detail": f"ad {rows[position]['listing_id']} already imported from an earlier row",
                "record": frame["_record"].iloc[position],
            }
        )
    rows = [row for row, is_repeat in zip(rows, repeated) if not is_repeat]
    rejections.sort(key=lambda r: r["import_row"])
    return ImportResult(path, resolved_source, rows_read, rows, rejections, mapping, unmapped)


def _split_title(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Brand and model from a Moteur-style title ('MERCEDES  Classe c') when the export has no brand column."""
    parts = frame["title"].str.extract(r"^([A-Z][A-Z\-]*[A-Z])\s+(.+)$")
    return parts[0], parts[1]


def _to_raw_rows(frame: pd.DataFrame, source: str, file_name: str, pii_salt: str) -> list[dict]:
    n = len(frame)

    def column(name: str) -> pd.Series:
        return frame[name] if name in frame else pd.Series([pd.NA] * n, dtype="string")

    brand, model = column("brand"), column("model")
    if "brand" not in frame and "title" in frame:
        brand, model_from_title = _split_title(frame)
        model = model.fillna(model_from_title) if "model" in frame else model_from_title
    if "version" in frame:
        # Card exports glue the trim onto the model ("Classe cC220" with version "C220"): unglue it.
        version = column("version").fillna("").str.lower()
        unglued = [
            m[: len(m) - len(v)].strip() if v and m.lower().endswith(v) else m
            for m, v in zip(model.fillna(""), version)
        ]
        model = pd.Series(unglued, index=model.index, dtype="string").mask(model.isna())

    city, fuel = column("city"), column("fuel")
    # The shifted-<li> quirk: the fuel lands in the city column and a button label in the fuel column.
    shifted = city.isin(FUELS) & (fuel.isin(BUTTON_TEXTS) | fuel.isna())
    fuel = fuel.mask(fuel.isin(BUTTON_TEXTS)).where(~shifted, city)
    city = city.mask(shifted)

    url = column("url")
    id_pattern = AVITO_ID if source == "avito" else MOTEUR_ID
    site_id = url.str.extract(id_pattern, expand=False)
    # Without an ad URL, a row's identity is its content: the same row imported again gets the same id.
    content_id = frame.drop(columns=["import_row", "_record"]).astype("string").fillna("").agg("|".join, axis=1)
    content_id = "csv-" + content_id.map(lambda s: hashlib.sha1(s.encode()).hexdigest()[:16])
    listing_id = site_id.fillna(content_id)

    posted_at = parse_posted_dates(column("posted_text"))
    first_owner = column("first_owner").str.lower().map({"oui": True, "non": False, "1": True, "0": False})
    fiscal_power = _leading_int(column("fiscal_power"))
    seller_type = column("seller_type").str.lower().map(
        {"particulier": "private", "private": "private", "professionnel": "shop", "pro": "shop", "shop": "shop"}
    )
    table = pd.DataFrame(
        {
            "source": source,
            "listing_id": listing_id,
            "url": url,
            "title": column("title"),
            "price_text": column("price_text"),
            "price_dh": column("price_text").map(parse_price_dh, na_action="ignore").astype("Int64"),
            "year": _leading_int(column("year")),
            "mileage_text": column("mileage_text"),
            "mileage_km": _exact_km(column("mileage_text")),
            "fuel": fuel,
            "gearbox": column("gearbox"),
            "brand": brand,
            "model": model,
            # Exports write 0 CV for "unknown".
            "fiscal_power": fiscal_power.mask(fiscal_power == 0),
            "doors": _leading_int(column("doors")),
            "origin": column("origin"),
            "condition": column("condition"),
            "first_owner": first_owner,
            "city": city,
            "sector": column("sector"),
            "seller_type": seller_type,
            "seller_name_hash": column("seller_name").map(lambda v: hash_pii(v, pii_salt), na_action="ignore"),
            "seller_phone_hash": column("seller_phone").map(lambda v: hash_pii(v, pii_salt), na_action="ignore"),
            "posted_at": posted_at,
            "category": column("category"),
            "import_row": frame["import_row"],
        }
    )
    table["scrape_date"] = table["posted_at"].dt.date
    table = table.astype(object).where(table.notna(), None)
    return table.to_dict("records")


def load_csv_exports(paths: list[Path], con, source: str = "auto", pii_salt: str = "") -> list[ImportResult]:
    """Read each file and replace its rows in raw.imported_listings; every file is read before any is written."""
    import pyarrow as pa

    from autolist_assets.raw_tables import IMPORTED_LISTING_SCHEMA, replace_import

    results = [read_csv_export(Path(p), source, pii_salt) for p in paths]
    for result in results:
        table = pa.Table.from_pylist(
            [{**row, "import_file": result.path.name} for row in result.rows], schema=IMPORTED_LISTING_SCHEMA
        )
        replace_import(con, result.path.name, table, result.rejections)
    return results
