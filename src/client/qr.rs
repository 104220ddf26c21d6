//! The verification URL as a QR code drawn with Unicode half blocks, so a phone can scan it.

use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;

/// The QR code of `text` for a terminal, or `None` when it does not fit in a QR code.
pub fn render(text: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}
