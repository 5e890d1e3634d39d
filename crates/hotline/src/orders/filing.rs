//! Filing an order: the checks a filing passes (type, category, district, contact, length),
//! the photo stored sealed, the query code returned once, and the insert with its timeline.

use super::*;
use crate::HotlineError;
use tongban_platform::region::Region;

struct Checked {
    t: OrderType,
    phone: Option<String>,
    email: Option<String>,
    channel: &'static str,
}

/// Where the order is: a point inside the region's boundaries gives its district (and its
/// street when the order names none), refusing a district that does not hold it and a point
/// outside them all; without a point, an address naming a district gives it; a district
/// given by its code is named.
fn place(region: &Region, mut n: NewOrder) -> Result<NewOrder, HotlineError> {
    let given = n.district.trim().to_owned();
    if let (Some(lat), Some(lon)) = (n.lat, n.long) {
        if let Some(p) = region.locate(lon, lat) {
            let Some(d) = p.district else {
                return Err(HotlineError::OutsideRegion(format!(
                    "the point (lat {lat}, long {lon}) is outside every district of {}: check lat and long (WGS 84, degrees), or leave them out and name the district",
                    region.meta.name
                )));
            };
            if !given.is_empty() && given != d.name && given != d.code {
                return Err(HotlineError::InvalidLocation(format!(
                    "district {given:?} does not hold the point (lat {lat}, long {lon}), which is in {}",
                    d.name
                )));
            }
            n.district = d.name;
            if n.street.trim().is_empty() {
                if let Some(s) = p.street {
                    n.street = s.name;
                }
            }
            return Ok(n);
        }
    }
    match region.district(&given) {
        Some(d) => n.district = d.name.clone(),
        None if given.is_empty() => {
            let found = region.named_in(&n.street);
            if let Some(d) = found.district {
                n.district = d.name;
            }
        }
        None => {}
    }
    Ok(n)
}

fn check(n: &NewOrder, s: &Settings, filer: &Filer) -> Result<Checked, HotlineError> {
    let t = OrderType::parse(&n.order_type).ok_or_else(|| {
        HotlineError::UnknownType(
            "type must be consult, help, complaint, report, suggestion or praise".into(),
        )
    })?;
    if !s.category_exists(&n.category) {
        return Err(HotlineError::UnknownCategory(format!(
            "category {:?} is not in the category tree",
            n.category
        )));
    }
    if !s.district_exists(&n.district) {
        return Err(HotlineError::UnknownDistrict(format!(
            "district must be one of {} (or give a point inside the region, or an address naming the district)",
            s.districts.join("、")
        )));
    }
    let len = |s: &str| s.trim().chars().count();
    if len(&n.street) == 0 || len(&n.street) > 100 {
        return Err(HotlineError::MissingLocation(
            "give the street or place (1-100 characters)".into(),
        ));
    }
    if len(&n.title) == 0 || len(&n.title) > 100 {
        return Err(HotlineError::InvalidTitle(
            "the title needs 1-100 characters".into(),
        ));
    }
    if len(&n.content) == 0 || len(&n.content) > 5000 {
        return Err(HotlineError::InvalidContent(
            "describe the matter in 1-5000 characters".into(),
        ));
    }
    match (n.lat, n.long) {
        (None, None) => {}
        (Some(a), Some(b)) if (-90.0..=90.0).contains(&a) && (-180.0..=180.0).contains(&b) => {}
        _ => {
            return Err(HotlineError::InvalidLocation(
                "give lat (-90..90) and long (-180..180) together".into(),
            ))
        }
    }
    if let Some(u) = n.media_url.as_deref().filter(|u| !u.is_empty()) {
        let ok = (u.starts_with("https://") || u.starts_with("http://"))
            && u.len() <= 500
            && u.len() > "https://".len()
            && !u
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<');
        if !ok {
            return Err(HotlineError::InvalidMediaUrl(
                "media_url must be an http or https address of at most 500 characters".into(),
            ));
        }
    }
    let needs_contact = !matches!(filer, Filer::Citizen(_));
    let phone = match &n.phone {
        Some(p) if !p.trim().is_empty() => Some(
            Phone::parse(p)
                .map_err(|m| HotlineError::InvalidPhone(format!("phone: {m}")))?
                .as_str()
                .to_owned(),
        ),
        _ => None,
    };
    let email = match &n.email {
        Some(e) if !e.trim().is_empty() => {
            let e = e.trim();
            if e.len() > 100 || !tongban_platform::notify::valid_email(e) {
                return Err(HotlineError::InvalidEmail(
                    "email must be an address like name@example.com".into(),
                ));
            }
            Some(e.to_owned())
        }
        _ => None,
    };
    if needs_contact && phone.is_none() && email.is_none() {
        return Err(HotlineError::PhoneRequired("without logging in, give a phone number (or an e-mail address) so the department can answer".into()));
    }
    let channel = match filer {
        Filer::Operator(_) => "phone",
        Filer::Partner(_) => "open311",
        _ => match n.channel.as_deref() {
            None | Some("web") => "web",
            Some("mobile") => "mobile",
            Some(other) => {
                return Err(HotlineError::InvalidChannel(format!(
                    "channel must be web or mobile, got {other:?}"
                )))
            }
        },
    };
    Ok(Checked {
        t,
        phone,
        email,
        channel,
    })
}

/// Check a photo: JPEG, PNG or GIF by content, within the upload limit.
fn check_photo(ctx: &Ctx, data: &[u8]) -> Result<(), HotlineError> {
    if data.len() > ctx.config.max_upload_bytes {
        return Err(HotlineError::TooLarge(format!(
            "the photo may be at most {} KB",
            ctx.config.max_upload_bytes / 1024
        )));
    }
    if crate::staff::photo_kind(data).is_none() {
        return Err(HotlineError::InvalidPhoto(
            "the photo must be a JPEG, PNG or GIF image".into(),
        ));
    }
    Ok(())
}

/// Keep a checked photo.
fn store_photo(ctx: &Ctx, data: Vec<u8>) -> Result<String, HotlineError> {
    tongban_platform::blobs::put(&ctx.config.upload_dir, &data).map_err(|e| {
        tracing::error!(error = %e, "cannot store a photo");
        HotlineError::Internal
    })
}

/// The characters of a query code: no 0/O, 1/I/L to misread on a phone.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// A fresh query code of 8 characters (about 40 bits).
pub fn new_query_code() -> String {
    let bytes = tongban_platform::crypto::random_bytes::<8>();
    bytes
        .iter()
        .map(|b| char::from(CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()]))
        .collect()
}

/// The stored form of an order's query code: a blind index bound to the order number.
pub(super) fn code_index(keys: &vault::Keys, order_no: &str, code: &str) -> String {
    keys.blind(
        "wo_code",
        &format!("{order_no}:{}", code.trim().to_ascii_uppercase()),
    )
}

/// The columns of a new order, and their values in [`file`]'s parameters.
const ORDER_COLUMNS: &str = "order_no, order_type, category, district, street, title, content, public, lat, lng,
    citizen_id, phone, status, department_code, received_at, sign_by, return_by, answer_by, updated_at, version,
    channel, email, photo, dispatched_on, due_on, api_key_id, query_code";
const ORDER_VALUES: &str =
    "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $15, 1,
    $19, $20, $21, $22, $16, $23, $24";

/// On PostgreSQL, the column that takes a new order's id before it is written.
const NEXT_ORDER_ID: &str = "nextval(pg_get_serial_sequence('work_orders', 'id')) AS id";

/// File an order; it is routed at once when a rule names a department. Returns its number
/// and its query code. The order is checked before the photo, and nothing is kept unless
/// both pass.
pub async fn file(
    ctx: &Ctx,
    n: NewOrder,
    filer: Filer,
    photos: Vec<Vec<u8>>,
) -> Result<(String, String), HotlineError> {
    let today = ctx.today();
    let cal = ctx.calendar();
    let now = tongban_platform::time::now_millis();
    let day = today.format("%Y%m%d").to_string();
    let source = audit::current_source();
    let settings = settings::current(&ctx.db).await?;
    let region = tongban_platform::region::current(&ctx.db).await?;
    let n = place(&region, n)?;
    let numbering = region.number_code(&ctx.config).to_owned();
    let ck = check(&n, &settings, &filer)?;
    if photos.len() > MAX_PHOTOS {
        return Err(HotlineError::TooManyPhotos(format!(
            "at most {MAX_PHOTOS} photos go with one order; {} were sent",
            photos.len()
        )));
    }
    if matches!(filer, Filer::Anonymous) {
        // Anonymous filing is limited per address and per phone: five anonymous orders with
        // 10 MiB photos once went in within a second and became the top hot topic.
        tongban_platform::throttle::limit(
            &ctx.db,
            format!("rate:wo-addr:{source}"),
            ctx.config.rate_per_hour,
            3_600_000,
            "anonymous work orders",
        )
        .await?;
        if let Some(p) = &ck.phone {
            let key = vault::keys()
                .map_err(|_| HotlineError::Internal)?
                .blind("rate-phone", p);
            tongban_platform::throttle::limit(
                &ctx.db,
                format!("rate:wo-phone:{key}"),
                ctx.config.rate_per_phone_day,
                86_400_000,
                "work orders for this phone number",
            )
            .await?;
        }
    }
    if let (false, Filer::Citizen(id)) = (photos.is_empty(), &filer) {
        // Photos count with the application materials a citizen uploads in an hour.
        tongban_platform::throttle::limit(
            &ctx.db,
            format!("rate:upload:{id}"),
            ctx.config.rate_per_hour,
            3_600_000,
            "uploads",
        )
        .await?;
    }
    // Every photo is checked before any is kept; one key, or a JSON array of several.
    for p in &photos {
        check_photo(ctx, p)?;
    }
    let keys = photos
        .into_iter()
        .map(|p| store_photo(ctx, p))
        .collect::<Result<Vec<_>, _>>()?;
    let photo = match keys.len() {
        0 => None,
        1 => keys.into_iter().next(),
        _ => Some(serde_json::to_string(&keys).map_err(|_| HotlineError::Internal)?),
    };
    let dept = settings.route(&n.category, &n.district);
    let dl = dept
        .as_ref()
        .map(|_| rules::deadlines(&cal, &settings.limits, ck.t, today));
    // Taken before the write, so that the write waits for no answer and a group of filings
    // commits in one round trip: on PostgreSQL the number and the order's id (sequences,
    // which belong to no transaction); a citizen's own phone for the text message.
    let taken = identity::take_number(&ctx.db, NEXT_ORDER_ID)
        .await?
        .map(|t| (t.number, t.id));
    let account_phone = match (&filer, &ck.phone) {
        (Filer::Citizen(id), None) => {
            let id = *id;
            ctx.db
                .read_single(move |c| identity::citizen_phone(c, id))
                .await?
        }
        _ => None,
    };
    let title = n.title.trim().to_owned();
    // Sealed here, not in the writer, whose thread every filing waits for.
    let keys = vault::keys().map_err(|_| HotlineError::Internal)?;
    let seal = |v: Option<&str>| {
        v.map(|p| keys.encrypt(p))
            .transpose()
            .map_err(DbError::from)
    };
    let sealed = [
        seal(Some(n.street.trim()))?,
        seal(Some(&title))?,
        seal(Some(n.content.trim()))?,
        seal(ck.phone.as_deref())?,
        seal(ck.email.as_deref())?,
    ];
    let no = ctx
        .db
        .write(move |c| {
            let keys = vault::keys().map_err(DbError::from)?;
            let seq = match taken {
                Some((seq, _)) => seq,
                None => identity::next_number(c, &format!("wo:{day}"))?,
            };
            // Region, day, seven-digit sequence: 21 digits, never taken for a case number
            // (20 digits), and read out over the phone as digits alone.
            let order_no = format!("{numbering}{day}{seq:07}");
            let code = new_query_code();
            let status = if dept.is_some() { Status::Dispatched } else { Status::Received };
            let (citizen_id, api_key) = match &filer {
                Filer::Citizen(id) => (Some(*id), None),
                Filer::Partner(k) => (None, Some(*k)),
                _ => (None, None),
            };
            let [street, sealed_title, content, phone, email] = sealed;
            let mut args = params![
                order_no.as_str(),
                ck.t.as_str(),
                n.category.as_str(),
                n.district.as_str(),
                street,
                sealed_title,
                content,
                n.public,
                n.lat,
                n.long,
                citizen_id,
                phone,
                status.as_str(),
                dept.as_deref(),
                now,
                ymd(dl.map(|d| d.sign_by)),
                ymd(dl.map(|d| d.return_by)),
                ymd(dl.map(|d| d.answer_by)),
                ck.channel,
                email,
                photo.as_deref(),
                ymd(dept.as_ref().map(|_| today)),
                api_key,
                code_index(&keys, &order_no, &code)
            ]
            .to_vec();
            let id = match taken {
                Some((_, id)) => {
                    args.push(id.into());
                    c.execute_later(
                        &format!("INSERT INTO work_orders ({ORDER_COLUMNS}, id) VALUES ({ORDER_VALUES}, $25)"),
                        &args,
                    )?;
                    id
                }
                None => c
                    .query_one(
                        &format!("INSERT INTO work_orders ({ORDER_COLUMNS}) VALUES ({ORDER_VALUES}) RETURNING id"),
                        &args,
                    )?
                    .get_i64("id")?,
            };
            let (kind, actor) = match &filer {
                Filer::Citizen(i) => ("citizen", i.to_string()),
                Filer::Anonymous => ("anonymous", "anonymous".to_owned()),
                Filer::Operator(s) => ("staff", s.username.clone()),
                Filer::Partner(k) => ("partner", format!("apikey:{k}")),
            };
            if let Some(u) = n.media_url.as_deref().filter(|u| !u.is_empty()) {
                c.execute(
                    "UPDATE work_orders SET media_url = $1 WHERE id = $2",
                    params![u, id],
                )?;
            }
            event(c, id, now, "receive", Status::Received, &actor, None, "")?;
            if let Some(d) = &dept {
                event(c, id, now, "dispatch", Status::Dispatched, "routing", Some(d), "")?;
            }
            audit::append(
                c,
                &audit::Entry {
                    actor_kind: kind.into(),
                    actor,
                    action: "workorder.file".into(),
                    object: order_no.clone(),
                    result: "ok".into(),
                    source,
                    ..audit::Entry::default()
                },
            )?;
            // Told from what was just written (nothing is read back).
            tell(
                c,
                &Told {
                    order_no: &order_no,
                    title: &title,
                    email: ck.email.as_deref(),
                    phone: ck.phone.as_deref().or(account_phone.as_deref()),
                },
                &format!("已受理，我们将按时限办理。查询码 {code}。"),
                now,
            )?;
            Ok((order_no, code))
        })
        .await?;
    Ok(no)
}
