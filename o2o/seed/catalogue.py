"""The brands, retailers and categories of the demo festival.

Footprints follow how such chains really spread: a national mass-market brand follows city
population (``alpha`` below 1 reaches smaller towns), an international or premium brand
concentrates in the largest cities (``alpha`` above 1, a population floor), and a regional
department-store or supermarket chain keeps most of its stores in its home provinces.
Store counts (``weight``) are relative; the seed scales them to the number of stores asked.
Online shops are the brands' flagship stores on Tmall, as in the campaign.
"""

from __future__ import annotations

from dataclasses import dataclass, field

APPAREL = "Apparel"
SPORTS = "Sportswear"
APPLIANCES = "Home Appliances"
ELECTRONICS = "Electronics"
DEPARTMENT = "Department Store"
SUPERMARKET = "Supermarket"
BEAUTY = "Beauty"
JEWELLERY = "Jewellery"
HOME = "Home & Furniture"
KIDS = "Kids & Baby"
FOOTWEAR = "Footwear"

CATEGORIES = (APPAREL, SPORTS, APPLIANCES, ELECTRONICS, DEPARTMENT, SUPERMARKET, BEAUTY,
              JEWELLERY, HOME, KIDS, FOOTWEAR)

# The festival's categories in Chinese, as Tmall's and Amap's menus name them. The API keeps the
# English names as values (``category=Supermarket``); features add ``category_zh`` from here, the
# pages show it, and the search index matches it. A category a retailer invents has no entry and
# is shown as stored.
CATEGORY_ZH = {
    APPAREL: "服装", SPORTS: "运动服饰", APPLIANCES: "家电", ELECTRONICS: "数码电器",
    DEPARTMENT: "百货商场", SUPERMARKET: "超市", BEAUTY: "美妆", JEWELLERY: "珠宝首饰",
    HOME: "家居", KIDS: "母婴童装", FOOTWEAR: "鞋靴",
}


def category_zh(name: str | None) -> str | None:
    """The Chinese name of a category, or the name as stored when it has none.

    >>> category_zh("Supermarket"), category_zh("Bubble tea")
    ('超市', 'Bubble tea')
    """
    if name is None:
        return None
    return CATEGORY_ZH.get(name, name)


@dataclass(frozen=True)
class Brand:
    name: str                 # as shown and filtered on (exact name)
    name_zh: str              # used in store names, as on the shop sign
    category: str
    retailer: str             # the company that registers the stores
    shop: str                 # Tmall shop sub-domain: https://{shop}.tmall.com/
    weight: float             # relative number of stores
    alpha: float = 0.9        # city-size exponent: >1 concentrates in big cities
    min_population: int = 0   # smallest city the brand opens in
    home: tuple[str, ...] = field(default_factory=tuple)  # provinces (short names) of a regional chain
    home_share: float = 0.0   # share of stores in the home provinces
    code: str = ""            # prefix of the retailer's own store codes

    @property
    def online_url(self) -> str:
        return f"https://{self.shop}.tmall.com/"

    @property
    def domain(self) -> str:
        return f"{self.shop}.tmall.com"


B = Brand
BRANDS: tuple[Brand, ...] = (
    # The campaign's own names first.
    B("Uniqlo", "优衣库", APPAREL, "Fast Retailing", "uniqlo", 700, 1.15, 300_000, code="UQ"),
    B("GAP", "GAP", APPAREL, "Gap Inc.", "gap", 140, 1.4, 1_000_000, code="GP"),
    B("Haier", "海尔", APPLIANCES, "Haier Group", "haier", 1400, 0.7, code="HR"),
    B("GXG", "GXG", APPAREL, "Mulsanne Group", "gxg", 800, 0.95, 100_000, code="GX"),
    B("Intime", "银泰百货", DEPARTMENT, "Intime Retail", "intime", 60, 1.0, 200_000,
      home=("浙江",), home_share=0.75, code="IT"),
    B("Marks & Spencer", "玛莎百货", DEPARTMENT, "Marks & Spencer", "marksandspencer", 20, 1.6,
      3_000_000, home=("上海",), home_share=0.45, code="MS"),
    B("Gome", "国美电器", ELECTRONICS, "Gome Retail", "gome", 900, 0.9, 100_000, code="GM"),
    B("Hongtu Sanbao", "宏图三胞", ELECTRONICS, "Sanpower Group", "hongtusanbao", 110, 1.0, 150_000,
      home=("江苏",), home_share=0.8, code="HS"),
    # National apparel and sportswear.
    B("Jack & Jones", "杰克琼斯", APPAREL, "Bestseller China", "jackjones", 900, 1.0, 150_000, code="JJ"),
    B("Vero Moda", "Vero Moda", APPAREL, "Bestseller China", "veromoda", 800, 1.0, 150_000, code="VM"),
    B("ONLY", "ONLY", APPAREL, "Bestseller China", "only", 700, 1.0, 150_000, code="ON"),
    B("Semir", "森马", APPAREL, "Semir Group", "semir", 1300, 0.75, code="SM"),
    B("Balabala", "巴拉巴拉", KIDS, "Semir Group", "balabala", 1300, 0.75, code="BL"),
    B("Peacebird", "太平鸟", APPAREL, "Peacebird Group", "peacebird", 900, 0.9,
      home=("浙江",), home_share=0.3, code="PB"),
    B("Bosideng", "波司登", APPAREL, "Bosideng International", "bosideng", 1100, 0.8,
      home=("江苏",), home_share=0.15, code="BS"),
    B("Heilan Home", "海澜之家", APPAREL, "Heilan Group", "hla", 1600, 0.7, code="HL"),
    B("Metersbonwe", "美特斯邦威", APPAREL, "Metersbonwe Group", "meters", 700, 0.8, code="MB"),
    B("Zara", "Zara", APPAREL, "Inditex", "zara", 120, 1.5, 2_000_000, code="ZR"),
    B("H&M", "H&M", APPAREL, "H&M Group", "hm", 260, 1.3, 1_000_000, code="HM"),
    B("Li-Ning", "李宁", SPORTS, "Li Ning Company", "lining", 1300, 0.8, code="LN"),
    B("Anta", "安踏", SPORTS, "Anta Sports", "anta", 1800, 0.7, code="AT"),
    B("FILA", "FILA", SPORTS, "Anta Sports", "fila", 450, 1.2, 500_000, code="FL"),
    B("Xtep", "特步", SPORTS, "Xtep International", "xtep", 1100, 0.75,
      home=("福建",), home_share=0.2, code="XT"),
    B("361°", "361度", SPORTS, "361 Degrees", "361du", 900, 0.75,
      home=("福建",), home_share=0.2, code="36"),
    B("Skechers", "斯凯奇", FOOTWEAR, "Skechers China", "skechers", 400, 1.1, 300_000, code="SK"),
    B("Belle", "百丽", FOOTWEAR, "Belle International", "belle", 900, 0.95, 100_000, code="BE"),
    # Appliances and electronics.
    B("Casarte", "卡萨帝", APPLIANCES, "Haier Group", "casarte", 250, 1.3, 1_000_000, code="CS"),
    B("Midea", "美的", APPLIANCES, "Midea Group", "midea", 1100, 0.7, code="MD"),
    B("Gree", "格力", APPLIANCES, "Gree Electric", "gree", 1100, 0.7, code="GR"),
    B("Suning", "苏宁易购", ELECTRONICS, "Suning.com", "suning", 600, 0.9, 200_000,
      home=("江苏",), home_share=0.25, code="SN"),
    B("Xiaomi Home", "小米之家", ELECTRONICS, "Xiaomi", "xiaomi", 500, 1.1, 300_000, code="MI"),
    B("Lenovo", "联想", ELECTRONICS, "Lenovo", "lenovo", 450, 0.9, 100_000, code="LX"),
    # Department stores and supermarkets, mostly regional.
    B("Wangfujing", "王府井百货", DEPARTMENT, "Wangfujing Group", "wangfujing", 55, 1.0, 500_000,
      home=("北京",), home_share=0.35, code="WF"),
    B("Parkson", "百盛", DEPARTMENT, "Parkson Retail", "parkson", 45, 1.1, 500_000, code="PK"),
    B("Maoye", "茂业百货", DEPARTMENT, "Maoye International", "maoye", 45, 1.0, 300_000,
      home=("广东",), home_share=0.6, code="MY"),
    B("Chongqing Department Store", "重庆百货", DEPARTMENT, "Chongqing Department Store", "cqbh", 120,
      1.0, home=("重庆", "四川"), home_share=0.92, code="CQ"),
    B("Wushang", "武商", DEPARTMENT, "Wushang Group", "wushang", 50, 1.0,
      home=("湖北",), home_share=0.95, code="WS"),
    B("Yinzuo", "银座", DEPARTMENT, "Yinzuo Group", "yinzuo", 90, 1.0,
      home=("山东",), home_share=0.95, code="YZ"),
    B("RT-Mart", "大润发", SUPERMARKET, "Sun Art Retail", "rtmart", 420, 1.0, 200_000,
      home=("江苏", "浙江", "上海"), home_share=0.35, code="RT"),
    B("Hema", "盒马鲜生", SUPERMARKET, "Hema", "hema", 260, 1.5, 2_000_000, code="HE"),
    B("Wumart", "物美", SUPERMARKET, "Wumart", "wumart", 380, 1.0,
      home=("北京", "河北", "天津"), home_share=0.85, code="WM"),
    B("Yonghui", "永辉超市", SUPERMARKET, "Yonghui Superstores", "yonghui", 650, 0.9, 100_000,
      home=("福建", "重庆"), home_share=0.35, code="YH"),
    B("Sanjiang", "三江购物", SUPERMARKET, "Sanjiang Shopping", "sanjiang", 140, 0.9,
      home=("浙江",), home_share=0.97, code="SJ"),
    # Beauty, jewellery, home.
    B("Watsons", "屈臣氏", BEAUTY, "A.S. Watson", "watsons", 1500, 0.95, 100_000, code="WT"),
    B("Sephora", "丝芙兰", BEAUTY, "Sephora China", "sephora", 260, 1.4, 1_000_000, code="SP"),
    B("Perfect Diary", "完美日记", BEAUTY, "Yatsen", "perfectdiary", 220, 1.3, 1_000_000, code="PD"),
    B("Chow Tai Fook", "周大福", JEWELLERY, "Chow Tai Fook", "chowtaifook", 1600, 0.85, code="CT"),
    B("Lao Feng Xiang", "老凤祥", JEWELLERY, "Lao Feng Xiang", "laofengxiang", 900, 0.85,
      home=("上海", "江苏", "浙江"), home_share=0.3, code="LF"),
    B("Red Star Macalline", "红星美凯龙", HOME, "Red Star Macalline", "chinaredstar", 200, 1.0, 300_000,
      code="RS"),
    B("Easyhome", "居然之家", HOME, "Easyhome", "easyhome", 160, 1.0, 300_000,
      home=("北京",), home_share=0.2, code="EH"),
    B("Quanu", "全友家居", HOME, "Quanu Furniture", "quanu", 500, 0.75,
      home=("四川",), home_share=0.2, code="QU"),
)

# Opening hours by category: (hours, weight). Variety as real shops post them.
HOURS_BY_CATEGORY = {
    DEPARTMENT: (("10:00-22:00", 6), ("09:30-22:00", 2), ("10:00-21:30", 2), ("10:00-22:30", 1)),
    SUPERMARKET: (("07:30-22:00", 4), ("08:00-22:00", 3), ("07:00-22:30", 2), ("00:00-24:00", 1)),
    HOME: (("09:00-18:00", 4), ("09:30-18:30", 3), ("09:00-12:00,13:30-18:00", 1), ("09:00-20:00", 2)),
    APPLIANCES: (("09:00-21:00", 4), ("09:00-18:00", 2), ("08:30-20:30", 2)),
    ELECTRONICS: (("09:30-21:30", 4), ("10:00-22:00", 4), ("09:00-21:00", 2)),
}
DEFAULT_HOURS = (("10:00-22:00", 8), ("09:30-21:30", 4), ("10:00-21:30", 3), ("10:00-22:30", 2),
                 ("09:00-21:00", 2))

# Shopping-area names: where a city's stores gather (malls and high streets).
MALLS = ("万达广场", "万象城", "银泰城", "大悦城", "吾悦广场", "龙湖天街", "印象城", "恒隆广场", "来福士广场",
         "苏宁广场", "凯德广场", "宝龙广场", "世纪金源", "步行街", "百货大楼", "新天地", "太古里", "爱琴海购物公园",
         "华润万家广场", "中央商场", "国贸商城", "时代广场", "新世界中心", "天虹购物中心", "王府井购物中心")
ROADS = ("人民路", "解放路", "中山路", "建设路", "和平路", "新华路", "文化路", "胜利路", "长江路", "黄河路",
         "青年路", "北京路", "南京路", "光明路", "朝阳路", "迎宾大道", "世纪大道", "滨江路", "工业大道", "府前街",
         "东风路", "五一路", "花园路", "学府路", "友谊路")

# Telephone area codes of the largest cities; elsewhere a plausible code derived from the city.
AREA_CODES = {
    "北京市": "010", "上海市": "021", "天津市": "022", "重庆市": "023", "广州市": "020",
    "深圳市": "0755", "武汉市": "027", "成都市": "028", "西安市": "029", "南京市": "025",
    "沈阳市": "024", "杭州市": "0571", "宁波市": "0574", "苏州市": "0512", "无锡市": "0510",
    "长沙市": "0731", "郑州市": "0371", "济南市": "0531", "青岛市": "0532", "福州市": "0591",
    "厦门市": "0592", "合肥市": "0551", "昆明市": "0871", "南宁市": "0771", "哈尔滨市": "0451",
    "长春市": "0431", "石家庄市": "0311", "太原市": "0351", "南昌市": "0791", "贵阳市": "0851",
    "东莞市": "0769", "佛山市": "0757", "大连市": "0411", "兰州市": "0931", "乌鲁木齐市": "0991",
}


_BRAND_ZH = {b.name: b.name_zh for b in BRANDS}


def brand_zh(name: str | None) -> str | None:
    """A brand's Chinese name as shoppers know it, where the festival's catalogue has one.

    >>> brand_zh("Uniqlo"), brand_zh("Muji")
    ('优衣库', None)
    """
    return _BRAND_ZH.get(name) if name else None
