"""Static market figures (brands, models, cities, sellers, labels) that calibrate the demo marketplace."""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

# Figures are rounded from the public datasets described in /work/shared/data/real/*/SOURCE.md
# (avito 2026: 16k ads; moteur 2024: 1.3k ads) and from Moroccan new-car price lists; no rows are copied.


@dataclass(frozen=True)
class Segment:
    """Defaults shared by the models of one market segment."""

    body: str  # moteur "Carrosserie" label
    auto_share: float  # share of automatic gearboxes for a 2020 car
    depreciation: float  # yearly exponential value loss
    diesel_share: float
    fiscal_powers: tuple[int, ...]  # diesel CV choices, petrol adds one
    three_door_share: float
    equipment_level: float  # 0 = bare, 1 = everything


SEGMENTS: dict[str, Segment] = {
    "city": Segment("Citadine", 0.22, 0.062, 0.62, (5, 6, 6, 6, 6, 6), 0.22, 0.35),
    "compact": Segment("Compacte", 0.42, 0.064, 0.86, (6, 6, 6, 8, 8), 0.08, 0.55),
    "sedan": Segment("Berline", 0.30, 0.064, 0.90, (6, 6, 6, 8, 8), 0.0, 0.5),
    "suv": Segment("SUV / 4x4", 0.62, 0.060, 0.90, (6, 8, 8, 8, 8), 0.0, 0.65),
    "van": Segment("Utilitaire", 0.06, 0.058, 0.97, (6, 6, 6, 8), 0.04, 0.25),
    "premium": Segment("Berline", 0.85, 0.085, 0.88, (8, 8, 8, 9, 11, 12), 0.05, 0.85),
    "premium_suv": Segment("SUV / 4x4", 0.95, 0.090, 0.90, (8, 8, 11, 12, 12), 0.0, 0.9),
    "luxury": Segment("SUV / 4x4", 0.99, 0.125, 0.82, (12, 12, 14, 17, 23), 0.0, 1.0),
}


@dataclass(frozen=True)
class CarModel:
    """One model line with its new price and production window."""

    brand: str
    name: str
    weight: float  # relative frequency within the brand
    new_price_dh: int  # today's new price (or inflation-adjusted for discontinued lines)
    first_year: int
    last_year: int | None  # None = still sold
    segment: str
    hybrid_share: float = 0.0  # among cars built from 2018 on
    electric_only: bool = False


@dataclass(frozen=True)
class Brand:
    """A canonical brand with its weight on each site."""

    name: str
    avito_weight: float
    moteur_weight: float
    value_retention: float = 0.0  # subtracted from the yearly depreciation (Dacia, Toyota hold value)


BRANDS: tuple[Brand, ...] = (
    Brand("Volkswagen", 0.117, 0.087),
    Brand("Mercedes-Benz", 0.095, 0.090),
    Brand("Renault", 0.085, 0.096),
    Brand("Dacia", 0.074, 0.062, 0.032),
    Brand("Peugeot", 0.074, 0.056),
    Brand("Hyundai", 0.063, 0.059, 0.008),
    Brand("Audi", 0.055, 0.057),
    Brand("BMW", 0.046, 0.056),
    Brand("Ford", 0.044, 0.032),
    Brand("Fiat", 0.037, 0.038),
    Brand("Land Rover", 0.036, 0.065, -0.010),
    Brand("Kia", 0.032, 0.018, 0.008),
    Brand("Citroen", 0.031, 0.036),
    Brand("Toyota", 0.027, 0.026, 0.025),
    Brand("Opel", 0.027, 0.044),
    Brand("Nissan", 0.021, 0.017),
    Brand("Jeep", 0.017, 0.036),
    Brand("Seat", 0.017, 0.015),
    Brand("Skoda", 0.016, 0.012),
    Brand("Porsche", 0.013, 0.011, 0.015),
    Brand("Volvo", 0.010, 0.022),
    Brand("Honda", 0.008, 0.008),
    Brand("Alfa Romeo", 0.007, 0.008),
    Brand("Jaguar", 0.006, 0.010, -0.010),
    Brand("Suzuki", 0.005, 0.004),
    Brand("Mini", 0.004, 0.005),
    Brand("DS", 0.002, 0.006),
)

_M = CarModel
MODELS: tuple[CarModel, ...] = (
    # Dacia: the Moroccan best-seller, built in Tangier, holds value
    _M("Dacia", "Logan", 30, 132_000, 2005, None, "sedan"),
    _M("Dacia", "Sandero", 24, 142_000, 2008, None, "city"),
    _M("Dacia", "Duster", 24, 215_000, 2010, None, "suv"),
    _M("Dacia", "Dokker", 14, 165_000, 2012, 2021, "van"),
    _M("Dacia", "Lodgy", 3, 175_000, 2012, 2022, "compact"),
    _M("Dacia", "Jogger", 2, 205_000, 2022, None, "compact", hybrid_share=0.2),
    _M("Dacia", "Spring", 4, 155_000, 2021, None, "city", electric_only=True),
    _M("Renault", "Clio", 34, 195_000, 1991, None, "city", hybrid_share=0.05),
    _M("Renault", "Megane", 18, 265_000, 1996, None, "compact"),
    _M("Renault", "Kangoo", 11, 225_000, 1998, None, "van"),
    _M("Renault", "Express", 9, 185_000, 2021, None, "van"),
    _M("Renault", "Captur", 6, 255_000, 2013, None, "suv", hybrid_share=0.15),
    _M("Renault", "Kadjar", 4, 305_000, 2015, 2022, "suv"),
    _M("Renault", "Scenic", 3, 300_000, 1996, 2022, "compact"),
    _M("Renault", "R19", 2, 150_000, 1988, 2000, "compact"),
    _M("Peugeot", "208", 26, 205_000, 2012, None, "city"),
    _M("Peugeot", "3008", 20, 365_000, 2009, None, "suv", hybrid_share=0.1),
    _M("Peugeot", "308", 11, 285_000, 2007, None, "compact"),
    _M("Peugeot", "2008", 10, 275_000, 2013, None, "suv"),
    _M("Peugeot", "Partner", 7, 225_000, 1996, None, "van"),
    _M("Peugeot", "301", 7, 175_000, 2012, 2023, "sedan"),
    _M("Peugeot", "206", 6, 150_000, 1998, 2012, "city"),
    _M("Peugeot", "508", 5, 385_000, 2011, None, "premium"),
    _M("Volkswagen", "Tiguan", 26, 425_000, 2008, None, "suv", hybrid_share=0.08),
    _M("Volkswagen", "Touareg", 12, 820_000, 2003, None, "premium_suv"),
    _M("Volkswagen", "Golf 7", 10, 305_000, 2012, 2020, "compact"),
    _M("Volkswagen", "Golf 8", 6, 355_000, 2020, None, "compact", hybrid_share=0.1),
    _M("Volkswagen", "Passat", 10, 385_000, 1997, None, "sedan"),
    _M("Volkswagen", "T-Roc", 7, 335_000, 2017, None, "suv"),
    _M("Volkswagen", "Polo", 7, 215_000, 1994, None, "city"),
    _M("Volkswagen", "Caddy", 6, 285_000, 2004, None, "van"),
    _M("Volkswagen", "Touran", 5, 335_000, 2003, None, "compact"),
    _M("Volkswagen", "Jetta", 4, 285_000, 2005, 2019, "sedan"),
    _M("Hyundai", "Tucson", 34, 345_000, 2004, None, "suv", hybrid_share=0.15),
    _M("Hyundai", "Accent", 18, 185_000, 2000, None, "sedan"),
    _M("Hyundai", "i10", 8, 135_000, 2008, None, "city"),
    _M("Hyundai", "Santa Fe", 7, 485_000, 2001, None, "premium_suv", hybrid_share=0.2),
    _M("Hyundai", "i30", 6, 235_000, 2007, None, "compact"),
    _M("Hyundai", "Creta", 5, 245_000, 2015, None, "suv"),
    _M("Hyundai", "i20", 4, 175_000, 2008, None, "city"),
    _M("Hyundai", "ix35", 4, 285_000, 2010, 2015, "suv"),
    _M("Toyota", "Corolla", 28, 265_000, 1990, None, "sedan", hybrid_share=0.45),
    _M("Toyota", "C-HR", 15, 325_000, 2016, None, "suv", hybrid_share=0.7),
    _M("Toyota", "Yaris", 14, 195_000, 1999, None, "city", hybrid_share=0.45),
    _M("Toyota", "RAV-4", 10, 385_000, 1994, None, "suv", hybrid_share=0.6),
    _M("Toyota", "Hilux", 9, 385_000, 1990, None, "van"),
    _M("Toyota", "Prado", 5, 820_000, 1996, None, "luxury"),
    _M("Toyota", "Land Cruiser", 3, 1_100_000, 1990, None, "luxury"),
    _M("Mercedes-Benz", "Classe C", 22, 560_000, 1993, None, "premium", hybrid_share=0.1),
    _M("Mercedes-Benz", "Classe E", 17, 760_000, 1993, None, "premium", hybrid_share=0.1),
    _M("Mercedes-Benz", "Classe GLC", 16, 710_000, 2015, None, "premium_suv", hybrid_share=0.15),
    _M("Mercedes-Benz", "Classe A", 15, 385_000, 1997, None, "compact"),
    _M("Mercedes-Benz", "Classe CLA", 11, 455_000, 2013, None, "premium"),
    _M("Mercedes-Benz", "220", 10, 480_000, 1980, 2010, "premium"),
    _M("Mercedes-Benz", "Classe GLE", 8, 1_050_000, 2015, None, "luxury", hybrid_share=0.15),
    _M("Mercedes-Benz", "Classe GLA", 5, 455_000, 2014, None, "premium_suv"),
    _M("Mercedes-Benz", "190", 3, 300_000, 1982, 1993, "premium"),
    _M("BMW", "Série 5", 22, 710_000, 1988, None, "premium", hybrid_share=0.1),
    _M("BMW", "Série 3", 15, 510_000, 1990, None, "premium", hybrid_share=0.1),
    _M("BMW", "X5", 12, 1_050_000, 2000, None, "luxury", hybrid_share=0.2),
    _M("BMW", "Série 1", 11, 365_000, 2004, None, "compact"),
    _M("BMW", "X3", 10, 660_000, 2004, None, "premium_suv", hybrid_share=0.1),
    _M("BMW", "X1", 8, 455_000, 2009, None, "premium_suv"),
    _M("BMW", "X6", 6, 1_150_000, 2008, None, "luxury"),
    _M("BMW", "Série 4", 5, 610_000, 2013, None, "premium"),
    _M("Audi", "Q5", 20, 660_000, 2008, None, "premium_suv", hybrid_share=0.1),
    _M("Audi", "Q3", 15, 455_000, 2011, None, "premium_suv"),
    _M("Audi", "A3", 15, 385_000, 1996, None, "compact"),
    _M("Audi", "A4", 14, 490_000, 1994, None, "premium"),
    _M("Audi", "Q8", 9, 1_100_000, 2018, None, "luxury"),
    _M("Audi", "A6", 10, 660_000, 1994, None, "premium"),
    _M("Audi", "A5", 6, 560_000, 2007, None, "premium"),
    _M("Audi", "Q7", 5, 960_000, 2005, None, "luxury"),
    _M("Kia", "Picanto", 32, 135_000, 2004, None, "city"),
    _M("Kia", "Sportage", 27, 335_000, 1993, None, "suv", hybrid_share=0.15),
    _M("Kia", "Seltos", 8, 255_000, 2019, None, "suv"),
    _M("Kia", "Sorento", 8, 455_000, 2002, None, "premium_suv", hybrid_share=0.25),
    _M("Kia", "Ceed", 7, 235_000, 2006, None, "compact"),
    _M("Kia", "K5", 6, 335_000, 2020, None, "sedan", hybrid_share=0.3),
    _M("Fiat", "500", 30, 185_000, 2007, None, "city", hybrid_share=0.1),
    _M("Fiat", "Fiorino", 13, 155_000, 2007, None, "van"),
    _M("Fiat", "Punto", 10, 145_000, 1999, 2018, "city"),
    _M("Fiat", "Doblo", 10, 195_000, 2000, None, "van"),
    _M("Fiat", "Tipo", 9, 185_000, 2016, None, "sedan"),
    _M("Fiat", "Palio", 8, 115_000, 1996, 2012, "city"),
    _M("Fiat", "Uno", 6, 100_000, 1983, 2010, "city"),
    _M("Ford", "Focus", 30, 255_000, 1998, 2025, "compact"),
    _M("Ford", "Fiesta", 25, 185_000, 1989, 2023, "city"),
    _M("Ford", "Kuga", 24, 355_000, 2008, None, "suv", hybrid_share=0.15),
    _M("Ford", "Mustang", 4, 720_000, 2005, None, "premium"),
    _M("Ford", "Transit", 4, 360_000, 1990, None, "van"),
    _M("Citroen", "C3", 30, 185_000, 2002, None, "city"),
    _M("Citroen", "Berlingo", 28, 235_000, 1996, None, "van"),
    _M("Citroen", "C4", 21, 255_000, 2004, None, "compact"),
    _M("Citroen", "C-Elysée", 16, 165_000, 2012, 2022, "sedan"),
    _M("Citroen", "C5", 7, 335_000, 2001, None, "premium"),
    _M("Opel", "Corsa", 30, 205_000, 1993, None, "city"),
    _M("Opel", "Astra", 24, 265_000, 1991, None, "compact"),
    _M("Opel", "Crossland", 12, 245_000, 2017, None, "suv"),
    _M("Opel", "Grandland", 11, 325_000, 2017, None, "suv", hybrid_share=0.1),
    _M("Opel", "Mokka", 11, 275_000, 2012, None, "suv"),
    _M("Opel", "Insignia", 7, 335_000, 2008, 2022, "sedan"),
    _M("Nissan", "Qashqai", 55, 325_000, 2007, None, "suv", hybrid_share=0.1),
    _M("Nissan", "Juke", 16, 255_000, 2010, None, "suv"),
    _M("Nissan", "Micra", 10, 165_000, 1992, 2023, "city"),
    _M("Nissan", "X-Trail", 4, 405_000, 2001, None, "suv"),
    _M("Jeep", "Renegade", 35, 285_000, 2014, None, "suv"),
    _M("Jeep", "Grand Cherokee", 26, 760_000, 1993, None, "premium_suv"),
    _M("Jeep", "Wrangler", 20, 710_000, 1987, None, "premium_suv"),
    _M("Jeep", "Compass", 15, 355_000, 2007, None, "suv"),
    _M("Seat", "Ateca", 30, 325_000, 2016, None, "suv"),
    _M("Seat", "Leon", 30, 275_000, 1999, None, "compact"),
    _M("Seat", "Ibiza", 25, 195_000, 1993, None, "city"),
    _M("Seat", "Arona", 18, 235_000, 2017, None, "suv"),
    _M("Skoda", "Octavia", 45, 295_000, 1996, None, "sedan"),
    _M("Skoda", "Karoq", 16, 345_000, 2017, None, "suv"),
    _M("Skoda", "Kodiaq", 10, 425_000, 2016, None, "suv"),
    _M("Skoda", "Superb", 5, 405_000, 2001, None, "premium"),
    _M("Skoda", "Fabia", 4, 195_000, 1999, None, "city"),
    _M("Porsche", "Cayenne", 60, 1_400_000, 2002, None, "luxury", hybrid_share=0.15),
    _M("Porsche", "Macan", 30, 900_000, 2014, None, "luxury"),
    _M("Volvo", "XC60", 50, 610_000, 2008, None, "premium_suv", hybrid_share=0.3),
    _M("Volvo", "XC40", 25, 455_000, 2017, None, "premium_suv", hybrid_share=0.3),
    _M("Volvo", "S60", 12, 455_000, 2000, None, "premium"),
    _M("Honda", "Accord", 45, 355_000, 1990, None, "sedan", hybrid_share=0.3),
    _M("Honda", "Civic", 30, 285_000, 1995, None, "compact", hybrid_share=0.2),
    _M("Honda", "CR-V", 20, 405_000, 1997, None, "suv", hybrid_share=0.4),
    _M("Alfa Romeo", "Giulietta", 42, 305_000, 2010, 2020, "compact"),
    _M("Alfa Romeo", "Stelvio", 15, 610_000, 2017, None, "premium_suv"),
    _M("Jaguar", "XF", 40, 610_000, 2008, None, "premium"),
    _M("Jaguar", "F-Pace", 35, 760_000, 2016, None, "premium_suv"),
    _M("Jaguar", "XE", 20, 510_000, 2015, None, "premium"),
    _M("Suzuki", "Swift", 55, 155_000, 2005, None, "city", hybrid_share=0.3),
    _M("Suzuki", "Vitara", 25, 255_000, 1989, None, "suv", hybrid_share=0.3),
    _M("Suzuki", "Celerio", 20, 115_000, 2014, None, "city"),
    _M("Mini", "Cooper", 41, 335_000, 2001, None, "city"),
    _M("Mini", "Countryman", 20, 435_000, 2010, None, "premium_suv"),
    _M("DS", "DS 7", 50, 485_000, 2017, None, "premium_suv", hybrid_share=0.3),
    _M("DS", "DS 3", 30, 315_000, 2010, None, "compact"),
    # Land Rover: the Range Rover family dominates, depreciates steeply
    _M("Land Rover", "Range Rover Evoque", 212, 660_000, 2011, None, "premium_suv"),
    _M("Land Rover", "Range Rover Sport", 184, 1_300_000, 2005, None, "luxury"),
    _M("Land Rover", "Range Rover Velar", 57, 920_000, 2017, None, "luxury"),
    _M("Land Rover", "Range Rover Vogue", 50, 1_800_000, 2002, None, "luxury"),
    _M("Land Rover", "Discovery Sport", 18, 610_000, 2014, None, "premium_suv"),
    _M("Land Rover", "Defender", 10, 1_200_000, 1990, None, "luxury"),
)

FUELS = ("Diesel", "Essence", "Hybride", "Electrique", "LPG")
GEARBOXES = ("Manuelle", "Automatique")
ORIGINS = ("WW au Maroc", "Dédouanée", "Importée neuve", "Pas encore dédouanée")
CONDITIONS = ("Neuf", "Excellent", "Très bon", "Bon", "Correct", "Endommagé", "Pour Pièces")

# (avito params key, French label) in the order the detail page lists them.
EQUIPMENT: tuple[tuple[str, str], ...] = (
    ("car_jantes_alu", "Jantes aluminium"),
    ("car_airbags", "Airbags"),
    ("car_clim", "Climatisation"),
    ("car_gps", "Système de navigation/GPS"),
    ("car_toit_ouvrant", "Toit ouvrant"),
    ("car_sieges_cuir", "Sièges cuir"),
    ("car_radar_recul", "Radar de recul"),
    ("car_camera_recul", "Caméra de recul"),
    ("car_vitres_elec", "Vitres électriques"),
    ("car_abs", "ABS"),
    ("car_esp", "ESP"),
    ("car_regulateur", "Régulateur de vitesse"),
    ("car_limiteur", "Limiteur de vitesse"),
    ("cd_mp3_bt", "CD/MP3/Bluetooth"),
    ("car_ordinateur", "Ordinateur de bord"),
    ("car_verrouillage", "Verrouillage centralisé à distance"),
)
EQUIPMENT_LABELS = tuple(label for _, label in EQUIPMENT)

# Share of cars carrying each item at equipment_level 0 and 1, for a 2020 car.
EQUIPMENT_RATES: dict[str, tuple[float, float]] = {
    "Jantes aluminium": (0.25, 0.95),
    "Airbags": (0.75, 0.99),
    "Climatisation": (0.75, 0.99),
    "Système de navigation/GPS": (0.08, 0.75),
    "Toit ouvrant": (0.03, 0.45),
    "Sièges cuir": (0.04, 0.8),
    "Radar de recul": (0.2, 0.9),
    "Caméra de recul": (0.1, 0.75),
    "Vitres électriques": (0.7, 0.99),
    "ABS": (0.85, 0.99),
    "ESP": (0.4, 0.95),
    "Régulateur de vitesse": (0.25, 0.9),
    "Limiteur de vitesse": (0.3, 0.85),
    "CD/MP3/Bluetooth": (0.5, 0.95),
    "Ordinateur de bord": (0.35, 0.95),
    "Verrouillage centralisé à distance": (0.6, 0.99),
}


@dataclass(frozen=True)
class City:
    """A canonical (accented) city with its weight on each site and its common sectors."""

    name: str
    avito_weight: float
    moteur_weight: float
    sectors: tuple[str, ...] = ()


CITIES: tuple[City, ...] = (
    City("Casablanca", 30.0, 69.0, ("Maarif", "Ain Sebaa", "Aïn Chock", "Hay Hassani", "Sidi Maarouf", "Anfa",
                                    "Californie", "Oulfa", "Bourgogne", "2 Mars", "Belvédère", "Sidi Bernoussi",
                                    "Aïn Diab", "Hay Mohammadi", "Mers Sultan", "Gauthier", "Racine", "Lissasfa")),
    City("Rabat", 8.0, 4.6, ("Agdal", "Hay Riad", "Hassan", "Souissi", "Yacoub El Mansour", "Océan", "Hay El Fath")),
    City("Marrakech", 7.0, 1.6, ("Guéliz", "Massira 1", "Massira 2", "Sidi Ghanem", "Hivernage", "Daoudiate",
                                  "Targa", "Route de Casablanca")),
    City("Tanger", 7.0, 8.1, ("Tanger City Center", "Malabata", "Iberia", "Branes 2", "Mesnana", "Val Fleuri")),
    City("Fès", 5.0, 1.8, ("Route Ain Chkaf", "Route de Sefrou", "Narjiss", "Saiss", "Atlas")),
    City("Agadir", 5.0, 3.1, ("Founty", "Talborjt", "Dakhla", "Tilila", "Sonaba", "Hay Mohammadi")),
    City("Meknès", 3.5, 0.6, ("Hamria", "Marjane", "Ville Nouvelle")),
    City("Salé", 3.0, 0.3, ("Hay Salam", "Sala El Jadida", "Tabriquet", "Bettana")),
    City("Kénitra", 3.0, 0.2, ("Ouled Oujih", "Bir Rami", "Mimosas")),
    City("Oujda", 2.5, 0.8, ("Lazaret", "Al Qods")),
    City("Tétouan", 3.0, 4.4, ("Mhannech", "Al Mallalienne", "Wilaya")),
    City("El Jadida", 2.5, 0.6, ("Jawhara", "Plateau")),
    City("Témara", 2.5, 0.4, ("Massira", "Wifaq", "Harhoura")),
    City("Mohammédia", 2.5, 0.3, ("Al Alia", "El Houda", "Parc")),
    City("Safi", 1.5, 0.1),
    City("Béni Mellal", 2.0, 0.1),
    City("Nador", 2.0, 1.9),
    City("Khouribga", 1.5, 0.1),
    City("Settat", 1.2, 0.2),
    City("Laâyoune", 1.2, 0.2),
    City("Berrechid", 0.8, 0.1),
    City("Larache", 0.8, 0.2),
    City("Khémisset", 0.8, 0.2),
    City("Taza", 0.7, 0.2),
    City("Errachidia", 0.6, 0.05),
    City("Guelmim", 0.5, 0.05),
    City("Tiznit", 0.5, 0.1),
    City("Al Hoceïma", 0.5, 0.1),
    City("Essaouira", 0.4, 0.05),
    City("Ouarzazate", 0.4, 0.05),
    City("Dakhla", 0.4, 0.05),
    City("Ifrane", 0.3, 0.05),
)

# Sectors every city offers on avito; "Toute la ville" is the placeholder for no sector at all.
GENERIC_SECTORS = ("Autre secteur", "Centre ville", "Toute la ville")

PRIVATE_FIRST_NAMES = (
    "Mohamed", "Youssef", "Ahmed", "Hassan", "Said", "Karim", "Rachid", "Hamza", "Amine", "Omar", "Fatima",
    "Khadija", "Salma", "Yassine", "Mehdi", "Anas", "Ayoub", "Imane", "Zineb", "Nabil", "Abdelilah", "Hicham",
    "Adil", "Mustapha", "Soufiane", "Othmane", "Reda", "Samira", "Nadia", "Brahim", "Abdellah", "Khalid",
)
PRIVATE_LAST_INITIALS = "ABCDEFGHIJKLMNORSTZ"

DEALER_WORDS = (
    "Atlas", "Anfa", "Reda", "Tingis", "Oasis", "Majestic", "Prestige", "Sahara", "Zitoune", "Nour", "Amine",
    "Salam", "Baraka", "Premium", "Royal", "Elite", "Kenzi", "Yasmine", "Idrissi", "Kifal", "Hammou", "Murabiti",
    "Aouita", "Brookline", "Supreme", "Global", "Mint", "Occaz", "Riad", "Bouregreg", "Sebou", "Souss", "Rif",
)
DEALER_PATTERNS = ("{w} AUTO", "AUTO {w}", "{w} CARS", "{w} Motors", "Garage {w}", "{w} Automobiles", "{w} Auto Export")

DESCRIPTION_SENTENCES = (
    "Voiture en très bon état, entretien suivi.",
    "Première main, jamais accidentée.",
    "Carnet d'entretien à jour.",
    "Pneus neufs, vidange faite.",
    "Visite technique OK.",
    "Papiers en règle, prête à rouler.",
    "Possibilité de crédit et de reprise.",
    "Prix légèrement négociable.",
    "Contactez-nous pour un essai.",
    "Dédouanée, toutes taxes payées.",
)
TITLE_EXTRAS = ("Excellent état", "toutes options", "première main", "très propre", "full options", "bien entretenue")

MOTEUR_COLOURS = ("Blanc", "Noir", "Gris", "Gris foncé", "Argent", "Bleu", "Rouge", "Beige", "Marron")


def strip_accents(text: str) -> str:
    """Drop diacritics so 'Fès' becomes 'Fes' (moteur shows ASCII names)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@functools.lru_cache(maxsize=None)
def moteur_brand_display(brand: str) -> str:
    """Brand as moteur.ma prints it: upper-case ASCII with hyphens ('LAND-ROVER')."""
    return strip_accents(brand).upper().replace(" ", "-")


@functools.lru_cache(maxsize=None)
def moteur_city_display(city: str) -> str:
    """City as moteur.ma prints it: ASCII, only the first letter upper-case ('El jadida')."""
    return strip_accents(city).capitalize()


MODELS_BY_BRAND: dict[str, tuple[CarModel, ...]] = {
    brand.name: tuple(m for m in MODELS if m.brand == brand.name) for brand in BRANDS
}
CITY_BY_NAME: dict[str, City] = {city.name: city for city in CITIES}

# Motorbikes that sellers file under the car search (brand, models).
MOTORBIKES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Yamaha", ("T-Max", "X-Max", "MT-07", "NMAX")),
    ("Honda", ("PCX", "Forza", "CB500")),
    ("Kymco", ("Agility", "Like")),
    ("Peugeot", ("Kisbee", "Django")),
    ("SYM", ("Jet 14", "Orbit")),
    ("Piaggio", ("Liberty", "Beverly")),
)
