//! What a frame's YUV numbers mean as colours: the camera's colour matrix and value range.
//!
//! A YUV picture stores luma Y′ and two colour differences, Cb (blue minus luma) and Cr (red
//! minus luma). Which mix of red, green and blue makes up luma is the *matrix*: an SD camera
//! encodes with BT.601 (Y′ = 0.299 R′ + 0.587 G′ + 0.114 B′), an HD one with BT.709
//! (0.2126, 0.7152, 0.0722), UHD with BT.2020. Decoding a BT.709 picture with BT.601 shifts
//! its colours (greens go yellowish, reds orange): the stream's own matrix must be used.
//! The *range* says where black and white lie: limited ("studio") range puts luma on 16–235
//! and chroma on 16–240 around 128; full range uses 0–255 (JPEG, some IP cameras).
//!
//! From the matrix's red and blue weights Kr and Kb (Kg = 1 − Kr − Kb), with Y′ in 0–1 and
//! Pb, Pr in −½…½ (ITU-R BT.601 §2.5, BT.709 §3.5):
//!
//! ```text
//! R′ = Y′ + 2(1 − Kr)·Pr
//! G′ = Y′ − 2Kb(1 − Kb)/Kg·Pb − 2Kr(1 − Kr)/Kg·Pr
//! B′ = Y′ + 2(1 − Kb)·Pb
//! ```
//!
//! and the range maps 8-bit codes to them: Y′ = (Y − 16)/219, Pb = (Cb − 128)/224 in
//! limited range, Y′ = Y/255, Pb = (Cb − 128)/255 in full range. [`Colour::conversion`] folds
//! both into one 3×3 matrix and an offset, applied alike by the CPU ([`Frame::to_rgba`]) and
//! the screen's shaders.
//!
//! [`Frame::to_rgba`]: super::Frame::to_rgba

use gstreamer_video as gst_video;

/// The colour matrix a stream was encoded with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Matrix {
    /// ITU-R BT.601: SD cameras (D1, CIF), and what a stream that says nothing is taken for
    /// below 720 lines.
    #[default]
    Bt601,
    /// ITU-R BT.709: HD cameras (720p, 1080p).
    Bt709,
    /// ITU-R BT.2020: UHD.
    Bt2020,
}

impl Matrix {
    /// Red and blue's weights in luma, (Kr, Kb).
    fn weights(self) -> (f32, f32) {
        match self {
            Matrix::Bt601 => (0.299, 0.114),
            Matrix::Bt709 => (0.2126, 0.0722),
            Matrix::Bt2020 => (0.2627, 0.0593),
        }
    }
}

/// How one stream's YUV maps to RGB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Colour {
    pub matrix: Matrix,
    /// Codes use 0–255 rather than limited (16–235 luma, 16–240 chroma).
    pub full_range: bool,
}

/// The conversion of one [`Colour`]: `rgb = rows · (yuv − offset)`, with every value a code
/// divided by 255 (what a GPU samples from an 8-bit texture) and the result R′G′B′ in 0–1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conversion {
    /// The rows giving R′, G′ and B′ from (Y, Cb, Cr).
    pub rows: [[f32; 3]; 3],
    /// Black's luma code and chroma's zero (128), over 255.
    pub offset: [f32; 3],
}

impl Colour {
    /// What a stream's caps say, with the customary guess for what they leave unknown: BT.709
    /// from 720 lines up, BT.601 below, limited range.
    pub fn of(info: &gst_video::VideoInfo) -> Colour {
        let colorimetry = info.colorimetry();
        let matrix = match colorimetry.matrix() {
            gst_video::VideoColorMatrix::Bt709 => Matrix::Bt709,
            gst_video::VideoColorMatrix::Bt2020 => Matrix::Bt2020,
            gst_video::VideoColorMatrix::Bt601 => Matrix::Bt601,
            _ if info.height() >= 720 => Matrix::Bt709,
            _ => Matrix::Bt601,
        };
        Colour { matrix, full_range: colorimetry.range() == gst_video::VideoColorRange::Range0_255 }
    }

    /// The matrix and offset that turn this stream's codes into R′G′B′ (see the module's notes).
    pub fn conversion(&self) -> Conversion {
        let (kr, kb) = self.matrix.weights();
        let kg = 1.0 - kr - kb;
        // From codes/255 to Y′ in 0–1 and Pb, Pr in −½…½.
        let (luma, chroma, black) =
            if self.full_range { (1.0, 1.0, 0.0) } else { (255.0 / 219.0, 255.0 / 224.0, 16.0) };
        let rows = [
            [luma, 0.0, chroma * 2.0 * (1.0 - kr)],
            [luma, -chroma * 2.0 * kb * (1.0 - kb) / kg, -chroma * 2.0 * kr * (1.0 - kr) / kg],
            [luma, chroma * 2.0 * (1.0 - kb), 0.0],
        ];
        Conversion { rows, offset: [black / 255.0, 128.0 / 255.0, 128.0 / 255.0] }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rgb(colour: Colour, yuv: [u8; 3]) -> [f32; 3] {
        let Conversion { rows, offset } = colour.conversion();
        let x: Vec<f32> = yuv.iter().zip(offset).map(|(&c, o)| f32::from(c) / 255.0 - o).collect();
        rows.map(|row| (row[0] * x[0] + row[1] * x[1] + row[2] * x[2]) * 255.0)
    }

    fn near(got: [f32; 3], want: [f32; 3]) -> bool {
        got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1.0)
    }

    #[test]
    fn bt601_limited_is_the_textbook_formula() {
        let c = Colour::default().conversion();
        // 255/219 and the BT.601 chroma factors stretched by 255/224, as in every reference.
        let want = [[1.164383, 0.0, 1.596027], [1.164383, -0.391762, -0.812968], [1.164383, 2.017232, 0.0]];
        for (row, want) in c.rows.iter().zip(want) {
            for (got, want) in row.iter().zip(want) {
                assert!((got - want).abs() < 1e-5, "{:?}", c.rows);
            }
        }
    }

    #[test]
    fn each_matrix_brings_its_own_primaries_back() {
        // 100 % red, green and blue in limited range, coded with each standard's matrix
        // (BT.709 Table 4; BT.601 and BT.2020 computed alike, rounded to whole codes).
        let cases = [
            (Matrix::Bt709, [63, 102, 240], [255.0, 0.0, 0.0]),
            (Matrix::Bt709, [173, 42, 26], [0.0, 255.0, 0.0]),
            (Matrix::Bt709, [32, 240, 118], [0.0, 0.0, 255.0]),
            (Matrix::Bt601, [81, 90, 240], [255.0, 0.0, 0.0]),
            (Matrix::Bt2020, [74, 97, 240], [255.0, 0.0, 0.0]),
        ];
        for (matrix, yuv, want) in cases {
            let got = rgb(Colour { matrix, full_range: false }, yuv);
            assert!(got.iter().zip(want).all(|(g, w)| (g - w).abs() < 3.0), "{matrix:?} {yuv:?} gave {got:?}");
        }
        // The same codes through the wrong matrix are visibly another colour.
        // BT.709's red read as BT.601 comes out a dull red, 20 codes short.
        let wrong = rgb(Colour { matrix: Matrix::Bt601, full_range: false }, [63, 102, 240]);
        assert!(wrong[0] < 240.0, "BT.709 red read as BT.601: {wrong:?}");
    }

    #[test]
    fn full_range_puts_black_at_0_and_white_at_255() {
        let full = Colour { matrix: Matrix::Bt709, full_range: true };
        assert!(near(rgb(full, [0, 128, 128]), [0.0; 3]));
        assert!(near(rgb(full, [255, 128, 128]), [255.0; 3]));
        let limited = Colour { matrix: Matrix::Bt709, full_range: false };
        assert!(near(rgb(limited, [16, 128, 128]), [0.0; 3]));
        assert!(near(rgb(limited, [235, 128, 128]), [255.0; 3]));
    }

    #[test]
    fn caps_say_the_colour_and_unknown_is_guessed_by_size() {
        gstreamer::init().unwrap();
        let info = |caps: &str| gst_video::VideoInfo::from_caps(&caps.parse::<gstreamer::Caps>().unwrap()).unwrap();
        let hd = "video/x-raw,format=I420,width=1920,height=1080,framerate=25/1";
        assert_eq!(Colour::of(&info(&format!("{hd},colorimetry=bt709"))).matrix, Matrix::Bt709);
        assert_eq!(Colour::of(&info(&format!("{hd},colorimetry=bt601"))).matrix, Matrix::Bt601);
        let full = Colour::of(&info(&format!("{hd},colorimetry=1:4:0:0")));
        assert!(full.full_range, "{full:?}");
        let d1 = "video/x-raw,format=I420,width=704,height=576,framerate=25/1";
        assert_eq!(Colour::of(&info(d1)), Colour { matrix: Matrix::Bt601, full_range: false });
    }
}
