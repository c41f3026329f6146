//! The data that defines each scenario: value tables and weights. Changing a
//! distribution means changing a table here, not code.

/// Log levels of `server-logs`, in the order of the weight tables below.
pub const LEVELS: [&str; 4] = ["DEBUG", "INFO", "WARN", "ERROR"];
/// Normal level weights (percent): DEBUG 10, INFO 60, WARN 20, ERROR 10.
pub const LEVEL_WEIGHTS_NORMAL: [u32; 4] = [10, 60, 20, 10];
/// Level weights during an error wave: DEBUG 5, INFO 10, WARN 20, ERROR 65.
pub const LEVEL_WEIGHTS_WAVE: [u32; 4] = [5, 10, 20, 65];
/// Chance, per second of event time, that an error wave starts.
pub const WAVE_START_CHANCE_PER_SECOND: f64 = 0.01;
/// Length of an error wave in seconds of event time.
pub const WAVE_SECONDS: u64 = 90;

/// Message templates per level: text before a number, the number's range, text after.
pub type Template = (&'static str, u64, u64, &'static str);
pub const MESSAGES: [&[Template]; 4] = [
    &[
        ("Cache lookup for key user:", 1, 99_999, " took 0 ms"),
        ("Opened DB connection #", 1, 64, " from pool"),
        ("Parsed request headers (", 3, 40, " entries)"),
    ],
    &[
        ("User ", 1, 99_999, " logged in"),
        ("Request completed in ", 2, 900, " ms"),
        ("Order ", 100_000, 999_999, " placed"),
        ("Health check OK, uptime ", 1, 864_000, " s"),
    ],
    &[
        ("Slow query took ", 1_000, 9_000, " ms"),
        ("Retrying upstream call, attempt ", 2, 5, ""),
        ("Disk usage at ", 80, 94, " %"),
    ],
    &[
        ("Database connection failed after ", 1, 30, " s"),
        ("Payment gateway returned HTTP ", 500, 504, ""),
        ("Unhandled exception in worker ", 1, 32, ""),
        ("Out of memory in request ", 100_000, 999_999, ""),
    ],
];
pub const HOSTS: &[&str] = &[
    "web-01",
    "web-02",
    "web-03",
    "web-04",
    "api-01",
    "api-02",
    "worker-01",
    "worker-02",
];
pub const SERVICES: &[&str] = &["checkout", "catalog", "auth", "search", "payments"];

// access-logs
pub const METHODS: &[(&str, u32)] = &[("GET", 70), ("POST", 20), ("PUT", 5), ("DELETE", 5)];
pub const PATHS: &[&str] = &[
    "/",
    "/index.html",
    "/api/products",
    "/api/cart",
    "/api/orders",
    "/login",
    "/logout",
    "/static/app.js",
    "/static/style.css",
    "/search",
];
pub const STATUSES: &[(u64, u32)] = &[
    (200, 80),
    (201, 4),
    (204, 2),
    (301, 2),
    (304, 4),
    (400, 2),
    (401, 1),
    (403, 1),
    (404, 2),
    (500, 1),
    (503, 1),
];
pub const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "curl/8.4.0",
    "Googlebot/2.1 (+http://www.google.com/bot.html)",
];

// car-transactions
pub const FIRST_NAMES: &[&str] = &[
    "Anna", "Ben", "Chloe", "David", "Emma", "Felix", "Grace", "Hugo", "Ines", "Jonas", "Karin",
    "Liam", "Mia", "Noah", "Olga", "Paul", "Rosa", "Sam", "Tara", "Yusuf",
];
pub const LAST_NAMES: &[&str] = &[
    "Schmidt", "Martin", "Rossi", "Garcia", "Novak", "Smith", "Jensen", "Dubois", "Kowalski",
    "Silva", "Meyer", "Berg", "Costa", "Ivanova", "Moreau",
];
pub const CARS: &[(&str, &str)] = &[
    ("Toyota", "Corolla"),
    ("Toyota", "RAV4"),
    ("Volkswagen", "Golf"),
    ("Volkswagen", "ID.4"),
    ("BMW", "3 Series"),
    ("BMW", "X5"),
    ("Mercedes-Benz", "C-Class"),
    ("Ford", "Focus"),
    ("Tesla", "Model 3"),
    ("Tesla", "Model Y"),
    ("Renault", "Clio"),
    ("Hyundai", "Tucson"),
];
pub const COLORS: &[&str] = &["black", "white", "silver", "grey", "blue", "red", "green"];
pub const COUNTRIES: &[&str] = &["DE", "FR", "IT", "ES", "NL", "PL", "SE", "US", "GB"];
pub const BRANCHES: &[&str] = &["north", "south", "east", "west", "central"];
/// Car prices in whole currency units.
pub const PRICE_RANGE: (u64, u64) = (8_000, 95_000);
pub const YEAR_RANGE: (u64, u64) = (2005, 2026);

// user-events
pub const USER_EVENT_TYPES: &[(&str, u32)] = &[
    ("click", 40),
    ("view", 35),
    ("purchase", 5),
    ("login", 10),
    ("logout", 10),
];
pub const USER_POPULATION: u64 = 100_000;
pub const PAGE_COUNT: u64 = 500;

// user-profiles
pub const CITIES: &[(&str, &str)] = &[
    ("Berlin", "DE"),
    ("Hamburg", "DE"),
    ("Paris", "FR"),
    ("Lyon", "FR"),
    ("Milan", "IT"),
    ("Madrid", "ES"),
    ("Amsterdam", "NL"),
    ("Warsaw", "PL"),
    ("Stockholm", "SE"),
    ("Chicago", "US"),
    ("London", "GB"),
];
pub const STREETS: &[&str] = &[
    "Main St",
    "Station Rd",
    "Park Ave",
    "Mill Lane",
    "Church St",
];
pub const EMAIL_DOMAINS: &[&str] = &["example.com", "example.org", "example.net"];
