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
