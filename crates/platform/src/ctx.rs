//! The context every room's handlers receive: database, configuration, time zone and the
//! working-day calendar (cached, reloaded from the database periodically so that a
//! `calendar import` on one node reaches all of them).

use crate::calendar::Calendar;
use crate::config::Config;
use crate::db::{Db, DbError};
use chrono::NaiveDate;
use chrono_tz::Tz;
use std::sync::{Arc, RwLock};

#[derive(Clone)]
pub struct Ctx(Arc<Inner>);

pub struct Inner {
    pub db: Db,
    pub config: Config,
    pub tz: Tz,
    calendar: RwLock<Arc<Calendar>>,
}

impl std::ops::Deref for Ctx {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Ctx {
    pub fn new(db: Db, config: Config) -> Ctx {
        let tz = config.tz();
        Ctx(Arc::new(Inner {
            db,
            config,
            tz,
            calendar: RwLock::new(Arc::new(Calendar::builtin())),
        }))
    }

    pub fn calendar(&self) -> Arc<Calendar> {
        match self.calendar.read() {
            Ok(c) => c.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub async fn reload_calendar(&self) -> Result<(), DbError> {
        let cal = self.db.read(crate::calendar::load).await?;
        if let Ok(mut slot) = self.calendar.write() {
            *slot = Arc::new(cal);
        }
        Ok(())
    }

    pub fn today(&self) -> NaiveDate {
        crate::time::date_of(crate::time::now_millis(), self.tz)
    }
}
