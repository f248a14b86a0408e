"""The controlled vocabulary of zoning packs, rules and project descriptions.

Every enumerated value a pack or project may use is listed here once, with its
Chinese name for output a person reads.
"""

__all__ = [
    "CATEGORIES",
    "CATEGORY_DIGIT",
    "MEDIA",
    "ZONE_TYPES",
    "RESOURCES",
    "POLLUTANTS",
    "FUELS",
    "ACTIVITIES",
    "CONSTRUCTION",
    "DIMENSIONS",
    "TIERS",
    "EFFECTS",
    "VERDICTS",
    "VERDICT_ORDER",
    "VERDICT_COLORS",
    "GEOMETRY_KINDS",
    "UNIT_CODE_PATTERN",
    "PROJECT_FIELDS",
    "attribute_label",
    "attribute_labels",
]

#: Environmental control unit categories and their Chinese names.
CATEGORIES = {"priority": "优先保护单元", "key": "重点管控单元", "general": "一般管控单元"}
#: The category digit in a unit code (ZH + 6-digit county code + digit + 4-digit serial).
CATEGORY_DIGIT = {"priority": "1", "key": "2", "general": "3"}
UNIT_CODE_PATTERN = r"^ZH\d{6}[123]\d{4}$"

MEDIA = {"air": "大气", "water": "水", "soil": "土壤", "resource": "资源"}

#: Element-zone types, dotted ``medium.kind``. Packs may use other kinds under a
#: known medium (the validator warns); the medium itself must be one of MEDIA.
ZONE_TYPES = {
    "air.priority": "大气环境优先保护区",
    "air.high_emission": "大气环境高排放重点管控区",
    "air.layout_sensitive": "大气环境布局敏感重点管控区",
    "air.weak_diffusion": "大气环境弱扩散重点管控区",
    "air.receptor_sensitive": "大气环境受体敏感重点管控区",
    "air.general": "大气环境一般管控区",
    "water.priority": "水环境优先保护区",
    "water.industrial": "水环境工业污染重点管控区",
    "water.urban": "水环境城镇生活污染重点管控区",
    "water.agricultural": "水环境农业污染重点管控区",
    "water.general": "水环境一般管控区",
    "water.drinking_source": "饮用水水源保护区",
    "soil.farmland_priority": "农用地优先保护区",
    "soil.farmland_risk": "农用地污染风险重点管控区",
    "soil.construction_risk": "建设用地污染风险重点管控区",
    "soil.general": "土壤环境一般管控区",
    "resource.fuel_ban": "高污染燃料禁燃区",
    "resource.groundwater_ban": "地下水禁采区",
    "resource.groundwater_limited": "地下水限采区",
    "resource.land_key": "土地资源重点管控区",
    "resource.eco_water": "生态用水补给区",
    "resource.shoreline_protected": "岸线优先保护区",
    "resource.shoreline_key": "岸线重点管控区",
}

#: Resources that quotas cap, with the project key holding the demand and its unit.
RESOURCES = {
    "water_m3": ("用水量", "m³/a"),
    "coal_t": ("煤炭消费量", "t/a"),
    "land_ha": ("用地面积", "ha"),
    "energy_tce": ("综合能耗", "tce/a"),
}

#: Pollutants a project may report in ``emissions`` (t/a).
POLLUTANTS = {
    "VOCs": "挥发性有机物",
    "SO2": "二氧化硫",
    "NOx": "氮氧化物",
    "PM": "颗粒物",
    "COD": "化学需氧量",
    "NH3N": "氨氮",
    "TP": "总磷",
    "TN": "总氮",
    "heavy_metals": "重金属",
}

FUELS = {
    "coal": "煤炭",
    "heavy_oil": "重油",
    "residual_oil": "渣油",
    "petroleum_coke": "石油焦",
    "biomass": "生物质",
    "natural_gas": "天然气",
    "lpg": "液化石油气",
    "electricity": "电",
    "diesel": "柴油",
}

#: Limited activities the ecological red-line rules permit (有限人为活动).
ACTIVITIES = {
    "linear_infrastructure": "无法避让的线性基础设施",
    "national_defence": "国防建设",
    "geological_survey": "地质调查与矿产资源勘查",
    "ecological_restoration": "生态修复",
    "scientific_research": "科学研究观测",
    "indigenous_living": "原住民生产生活",
    "cultural_heritage": "文物保护",
    "disaster_prevention": "防灾减灾",
}

CONSTRUCTION = {"new": "新建", "expansion": "扩建", "reconstruction": "改建", "relocation": "迁建"}

DIMENSIONS = {
    "spatial_layout": "空间布局约束",
    "emission_control": "污染物排放管控",
    "risk_prevention": "环境风险防控",
    "resource_efficiency": "资源开发效率要求",
}

TIERS = {"province": "省级", "city": "市级", "unit": "单元级"}

EFFECTS = {"prohibit": "禁止", "condition": "有条件", "needs_information": "待补充信息"}

#: Verdicts from most to least restrictive, with their Chinese labels.
VERDICTS = {
    "prohibited": "禁止准入",
    "needs_information": "待补充信息",
    "conditional": "有条件准入",
    "permitted": "允许准入",
}
VERDICT_ORDER = tuple(VERDICTS)
#: A site's kind by its geometry type: points, lines or polygons.
GEOMETRY_KINDS = {
    "Point": "point",
    "MultiPoint": "point",
    "LineString": "line",
    "LinearRing": "line",
    "MultiLineString": "line",
    "Polygon": "polygon",
    "MultiPolygon": "polygon",
}
#: The colour each verdict is shown in (banners, maps, reports).
VERDICT_COLORS = {"prohibited": "#b71c1c", "needs_information": "#e65100", "conditional": "#f9a825", "permitted": "#2e7d32"}


#: The project's attributes (contract §2 keys) as a person reads them: Chinese name, English
#: name, unit (None: none) and what to supply when a clause asks for it (``missing``). The
#: resource keys take their names and units from RESOURCES; ``emissions.<pollutant>`` keys
#: are made from POLLUTANTS by :func:`attribute_label`. One table for the page, reports and maps.
PROJECT_FIELDS = {
    "name": ("项目名称", "project name", None, "项目名称 the project's name"),
    "industry": ("行业类别", "industry", "GB/T 4754-2017",
                 "4位行业小类代码，如 2614 — the 4-digit GB/T 4754-2017 class, e.g. 2614"),
    "construction": ("建设性质", "construction", None, "新建、扩建、改建或迁建 — new, expansion, reconstruction or relocation"),
    "activity": ("活动类型", "activity", None,
                 "生态保护红线内允许的有限人为活动类型（如无法避让的线性基础设施），没有则不填 — "
                 "a red-line permitted activity, if any"),
    "emissions": ("污染物排放量", "emissions", "t/a", "各污染物年排放量，未列出的视为 0 — t/a by pollutant; unlisted = 0"),
    "fuel": ("燃料", "fuel", None, "使用的燃料，不燃烧燃料也请注明 — the fuels burnt, or that none is"),
    "water_m3": (RESOURCES["water_m3"][0], "water use", RESOURCES["water_m3"][1], "年用水量（m³/a） — water used per year, m³/a"),
    "coal_t": (RESOURCES["coal_t"][0], "coal use", RESOURCES["coal_t"][1], "年煤炭消费量（t/a），不用煤填 0 — coal burnt per year, t/a (0 if none)"),
    "land_ha": (RESOURCES["land_ha"][0], "land area", RESOURCES["land_ha"][1], "项目用地面积（ha） — land taken, ha"),
    "energy_tce": (RESOURCES["energy_tce"][0], "energy use", RESOURCES["energy_tce"][1], "年综合能耗（tce/a） — energy used per year, tce/a"),
    "groundwater": ("是否开采地下水", "groundwater", None, "是否开采地下水（是/否） — whether the project draws groundwater"),
}


def attribute_label(key):
    """The Chinese label of a project attribute, with its unit: what ``missing`` shows a person.

    Examples
    --------
    >>> attribute_label("emissions.VOCs")
    '挥发性有机物排放量 (t/a)'
    >>> attribute_label("water_m3")
    '用水量 (m³/a)'
    >>> attribute_label("industry")
    '行业类别 (GB/T 4754-2017)'
    >>> attribute_label("colour")
    'colour'
    """
    entry = attribute_labels().get(key)
    return entry["label"] if entry else key


def attribute_labels():
    """Every project attribute a finding may name: ``{key: {zh, en, unit, label, supply}}``.

    The keys are those of PROJECT_FIELDS and ``emissions.<pollutant>`` for every pollutant.

    >>> attribute_labels()["emissions.NOx"]["supply"]
    '氮氧化物年排放量（t/a），不排放填 0 — NOx emitted per year, t/a (0 if none)'
    """
    out = {}
    for key, (zh, en, unit, supply) in PROJECT_FIELDS.items():
        out[key] = {"zh": zh, "en": en, "unit": unit, "label": f"{zh} ({unit})" if unit else zh, "supply": supply}
    for pollutant, zh in POLLUTANTS.items():
        out[f"emissions.{pollutant}"] = {
            "zh": f"{zh}排放量", "en": f"{pollutant} emissions", "unit": "t/a", "label": f"{zh}排放量 (t/a)",
            "supply": f"{zh}年排放量（t/a），不排放填 0 — {pollutant} emitted per year, t/a (0 if none)",
        }
    return out
