//! The hand-over point between a decoder thread and the screen.
//!
//! A [`FrameSlot`] holds only the newest frame. The decoder thread replaces it; the UI takes
//! a look when it draws and uploads textures only when the sequence number moved. The frame
//! keeps the decoder's own buffer (mapped read-only), so nothing is copied on the way in.
//!
//! Frames are planar YUV 4:2:0 (I420) at the camera's own size, not RGB at the tile's: that is
//! what decoders put out, so the pipeline touches no pixel, and the screen scales and turns
//! YUV into RGB on the GPU as it draws (a few multiply-adds per pixel in a fragment shader,
//! where the CPU would pay for every pixel of every frame). It is also 1.5 bytes a pixel to
//! upload instead of 4.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gstreamer as gst;
use gstreamer_video as gst_video;

use super::colour::Colour;

/// Where one plane lies in the frame's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PlaneLayout {
    /// Byte offset of the plane's first row in the buffer.
    pub(crate) offset: usize,
    /// Bytes from one row to the next; at least the row's width, often more (rows are
    /// padded to 4 or more bytes, so an odd-width picture has padded rows).
    pub(crate) stride: usize,
}

/// One decoded picture in I420, as the appsink produced it.
///
/// I420 is three planes, one after the other in one buffer:
///
/// - **Y** (luma, brightness): one byte per pixel, `width × height`;
/// - **U** (Cb, blue minus luma) and **V** (Cr, red minus luma): one byte per 2×2 block of
///   pixels, `⌈width/2⌉ × ⌈height/2⌉` each.
///
/// What the values mean is the stream's [`Colour`]: most often "limited range" (studio swing,
/// luma from 16 (black) to 235 (white), chroma from 16 to 240 around 128, no colour) with the
/// BT.601 (SD) or BT.709 (HD) matrix. [`Frame::to_rgba`] converts on the CPU, for the rare
/// uses that need RGB (a PNG, a test); the wall converts on the GPU.
pub struct Frame {
    pub width: u32,
    pub height: u32,
    /// Counts frames of this feed from 1; a new number means a new picture.
    pub seq: u64,
    /// Wall-clock time of arrival: a stalled tile says since when its signal is lost.
    pub received: std::time::SystemTime,
    /// The stream's colour matrix and range (BT.601, limited, unless the stream says).
    pub colour: Colour,
    /// A pixel's width over its height: 1 for most cameras, 12/11 or 16/11 for some D1
    /// (704×576) streams, which are meant to be shown 4:3 or 16:9.
    pub pixel_aspect: f32,
    /// Y, U, V.
    planes: [PlaneLayout; 3],
    data: gst::MappedBuffer<gst::buffer::Readable>,
}

impl Frame {
    /// Wraps a mapped I420 buffer. `planes` are Y, U, V as the buffer's `VideoInfo` (or its
    /// video meta) lays them out. `None` if a plane would not fit in the buffer, so the
    /// accessors below never read out of bounds.
    pub(crate) fn new(
        width: u32,
        height: u32,
        planes: [PlaneLayout; 3],
        seq: u64,
        data: gst::MappedBuffer<gst::buffer::Readable>,
    ) -> Option<Self> {
        let received = std::time::SystemTime::now();
        let frame = Frame { width, height, seq, received, colour: Colour::default(), pixel_aspect: 1.0, planes, data };
        (0..3).all(|p| frame.plane(p).is_some()).then_some(frame)
    }

    /// A decoded I420 picture as its caps describe it: the planes where `info` lays them out
    /// (GStreamer pads rows, and an odd width rounds chroma up), its colour and pixel shape.
    /// The mapped buffer itself goes into the frame. `None` if `info` is not I420 or its
    /// planes do not fit in `data`.
    pub fn decoded(
        info: &gst_video::VideoInfo,
        seq: u64,
        data: gst::MappedBuffer<gst::buffer::Readable>,
    ) -> Option<Self> {
        if info.format() != gst_video::VideoFormat::I420 {
            return None;
        }
        let plane = |p: usize| PlaneLayout { offset: info.offset()[p], stride: info.stride()[p] as usize };
        let mut frame = Frame::new(info.width(), info.height(), [plane(0), plane(1), plane(2)], seq, data)?;
        frame.colour = Colour::of(info);
        let par = info.par();
        if par.numer() > 0 && par.denom() > 0 {
            frame.pixel_aspect = par.numer() as f32 / par.denom() as f32;
        }
        Some(frame)
    }

    /// The width over the height the picture is meant to be shown at.
    pub fn display_aspect(&self) -> f32 {
        self.width as f32 * self.pixel_aspect / self.height.max(1) as f32
    }

    /// The chroma planes' size: half the picture's, rounded up (an odd last column or row
    /// of pixels still has its own chroma sample).
    pub fn chroma_size(&self) -> (u32, u32) {
        (self.width.div_ceil(2), self.height.div_ceil(2))
    }

    /// The luma plane and its stride: row `r` starts at `r * stride`, `width` bytes long.
    pub fn y(&self) -> (&[u8], usize) {
        self.plane(0).unwrap_or_default()
    }

    /// The Cb plane and its stride: `chroma_size()` pixels, a row every `stride` bytes.
    pub fn u(&self) -> (&[u8], usize) {
        self.plane(1).unwrap_or_default()
    }

    /// The Cr plane and its stride, laid out like [`Frame::u`].
    pub fn v(&self) -> (&[u8], usize) {
        self.plane(2).unwrap_or_default()
    }

    /// Plane `p` from its first byte to the last byte of its last row (the padding after the
    /// last row is left out), if it fits in the buffer.
    fn plane(&self, p: usize) -> Option<(&[u8], usize)> {
        let (w, h) = if p == 0 { (self.width, self.height) } else { self.chroma_size() };
        let PlaneLayout { offset, stride } = self.planes[p];
        if h == 0 {
            return Some((&[], stride));
        }
        if stride < w as usize {
            return None;
        }
        let len = stride.checked_mul(h as usize - 1)?.checked_add(w as usize)?;
        Some((self.data.as_slice().get(offset..offset.checked_add(len)?)?, stride))
    }

    /// The picture as tightly packed RGBA (`width * 4` bytes a row, alpha 255), converted on
    /// the CPU with the frame's [`Colour`] in fixed point (coefficients × 256, rounded). For
    /// BT.601 in limited range that is the standard's integer formula (ITU-R BT.601, as in
    /// Microsoft's "YUV to RGB" and most software decoders):
    ///
    /// ```text
    /// C = Y − 16, D = U − 128, E = V − 128
    /// R = clamp((298·C + 409·E + 128) >> 8)
    /// G = clamp((298·C − 100·D − 208·E + 128) >> 8)
    /// B = clamp((298·C + 516·D + 128) >> 8)
    /// ```
    ///
    /// 298/256 ≈ 255/219 stretches luma's 16–235 to 0–255; the chroma factors are the BT.601
    /// matrix stretched the same way for chroma's 16–240. Each 2×2 block of pixels shares its
    /// chroma sample. Costs a full pass over the picture: for a snapshot or a test, not per
    /// frame on the wall.
    pub fn to_rgba(&self) -> Vec<u8> {
        let (w, h) = (self.width as usize, self.height as usize);
        let ((y, ys), (u, us), (v, vs)) = (self.y(), self.u(), self.v());
        let fixed = Fixed::from(self.colour);
        let mut out = Vec::with_capacity(w * h * 4);
        for row in 0..h {
            let (yr, ur, vr) = (row * ys, (row / 2) * us, (row / 2) * vs);
            for col in 0..w {
                let (l, cb, cr) = (y[yr + col], u[ur + col / 2], v[vr + col / 2]);
                out.extend_from_slice(&fixed.rgb(l, cb, cr));
                out.push(255);
            }
        }
        out
    }
}

/// A [`Colour`]'s conversion in 8.8 fixed point, on 8-bit codes.
struct Fixed {
    rows: [[i32; 3]; 3],
    black: i32,
}

impl From<Colour> for Fixed {
    fn from(colour: Colour) -> Fixed {
        let conversion = colour.conversion();
        Fixed {
            rows: conversion.rows.map(|row| row.map(|k| (k * 256.0).round() as i32)),
            black: (conversion.offset[0] * 255.0).round() as i32,
        }
    }
}

impl Fixed {
    /// One pixel.
    fn rgb(&self, y: u8, u: u8, v: u8) -> [u8; 3] {
        let x = [i32::from(y) - self.black, i32::from(u) - 128, i32::from(v) - 128];
        self.rows.map(|[a, b, c]| ((a * x[0] + b * x[1] + c * x[2] + 128) >> 8).clamp(0, 255) as u8)
    }
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Frame#{} {}x{} I420", self.seq, self.width, self.height)
    }
}

/// The newest frame of one feed, shared between its decoder thread and the screen.
#[derive(Default)]
pub struct FrameSlot {
    newest: Mutex<Option<Arc<Frame>>>,
    count: AtomicU64,
}

impl FrameSlot {
    /// Puts a frame in, dropping the one it replaces.
    pub fn put(&self, frame: Frame) {
        let frame = Arc::new(frame);
        self.count.store(frame.seq, Ordering::Release);
        if let Ok(mut newest) = self.newest.lock() {
            *newest = Some(frame);
        }
    }

    /// The newest frame, if any arrived yet. Cheap: clones an `Arc`.
    pub fn newest(&self) -> Option<Arc<Frame>> {
        self.newest.lock().ok().and_then(|n| n.clone())
    }

    /// The sequence number of the newest frame (0 before the first).
    pub fn seq(&self) -> u64 {
        self.count.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame laid out by GStreamer's own `VideoInfo` for `width`×`height`, each plane filled
    /// with one value.
    fn frame(width: u32, height: u32, [y, u, v]: [u8; 3]) -> Frame {
        gst::init().unwrap();
        let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::I420, width, height).build().unwrap();
        let mut bytes = vec![0u8; info.size()];
        let layout: Vec<PlaneLayout> =
            (0..3).map(|p| PlaneLayout { offset: info.offset()[p], stride: info.stride()[p] as usize }).collect();
        let next = [layout[1].offset, layout[2].offset, info.size()];
        for (p, value) in [y, u, v].into_iter().enumerate() {
            bytes[layout[p].offset..next[p]].fill(value);
        }
        let data = gst::Buffer::from_mut_slice(bytes).into_mapped_buffer_readable().unwrap();
        Frame::new(width, height, [layout[0], layout[1], layout[2]], 1, data).unwrap()
    }

    fn first_pixel(f: &Frame) -> [u8; 4] {
        f.to_rgba()[..4].try_into().unwrap()
    }

    /// One pixel, BT.601 limited range.
    fn yuv_to_rgb(y: u8, u: u8, v: u8) -> [u8; 3] {
        Fixed::from(Colour::default()).rgb(y, u, v)
    }

    #[test]
    fn bt601_limited_in_fixed_point_is_the_standards_integer_formula() {
        let fixed = Fixed::from(Colour::default());
        assert_eq!(fixed.rows, [[298, 0, 409], [298, -100, -208], [298, 516, 0]]);
        assert_eq!(fixed.black, 16);
    }

    #[test]
    fn a_frame_is_converted_with_its_own_matrix() {
        use crate::video::Matrix;
        // BT.709's 100 % red: through BT.709 it is red, through BT.601 a duller one.
        let mut f = frame(2, 2, [63, 102, 240]);
        let as_601 = first_pixel(&f);
        f.colour = Colour { matrix: Matrix::Bt709, full_range: false };
        let as_709 = first_pixel(&f);
        assert!(as_709[0] >= 253 && as_709[1] <= 2 && as_709[2] <= 2, "{as_709:?}");
        assert!(as_601[0] < 240, "{as_601:?}");
        // Full range: code 0 is black, not below it.
        let mut black = frame(2, 2, [0, 128, 128]);
        black.colour = Colour { matrix: Matrix::Bt709, full_range: true };
        assert_eq!(first_pixel(&black), [0, 0, 0, 255]);
        black.colour.full_range = false;
        assert_eq!(first_pixel(&black), [0, 0, 0, 255]);
        let mut grey = frame(2, 2, [128, 128, 128]);
        grey.colour = Colour { matrix: Matrix::Bt709, full_range: true };
        assert_eq!(first_pixel(&grey), [128, 128, 128, 255]);
    }

    #[test]
    fn a_d1_picture_with_wide_pixels_is_shown_wider() {
        let mut f = frame(704, 576, [16, 128, 128]);
        assert!((f.display_aspect() - 704.0 / 576.0).abs() < 1e-6);
        f.pixel_aspect = 16.0 / 11.0;
        assert!((f.display_aspect() - 16.0 / 9.0).abs() < 1e-3, "{}", f.display_aspect());
    }

    #[test]
    fn limited_range_white_black_and_grey() {
        assert_eq!(first_pixel(&frame(4, 2, [235, 128, 128])), [255, 255, 255, 255]);
        assert_eq!(first_pixel(&frame(4, 2, [16, 128, 128])), [0, 0, 0, 255]);
        // Below black and above white clamp rather than wrap.
        assert_eq!(first_pixel(&frame(4, 2, [0, 128, 128])), [0, 0, 0, 255]);
        assert_eq!(first_pixel(&frame(4, 2, [255, 128, 128])), [255, 255, 255, 255]);
        // Mid grey: (126 − 16) · 298/256 ≈ 128.
        assert_eq!(first_pixel(&frame(4, 2, [126, 128, 128])), [128, 128, 128, 255]);
    }

    #[test]
    fn saturated_primaries_and_bars() {
        // BT.601 limited-range codes of the 100 % primaries and of the 75 % colour bars.
        assert_eq!(yuv_to_rgb(81, 90, 240), [255, 0, 0]);
        assert_eq!(yuv_to_rgb(41, 240, 110), [0, 0, 255]);
        // Codes are rounded to whole numbers, so a colour may come back a step or two off.
        let close = |got: [u8; 3], want: [u8; 3]| got.iter().zip(want).all(|(g, w)| g.abs_diff(w) <= 2);
        for (yuv, rgb) in [
            ([145, 54, 34], [0, 255, 0]),    // green
            ([162, 44, 142], [191, 191, 0]), // yellow
            ([131, 156, 44], [0, 191, 191]), // cyan
            ([112, 72, 58], [0, 191, 0]),    // green
            ([84, 184, 198], [191, 0, 191]), // magenta
            ([65, 100, 212], [191, 0, 0]),   // red
            ([35, 212, 114], [0, 0, 191]),   // blue
        ] {
            let got = yuv_to_rgb(yuv[0], yuv[1], yuv[2]);
            assert!(close(got, rgb), "{yuv:?} gave {got:?}, not {rgb:?}");
        }
        assert_eq!(first_pixel(&frame(2, 2, [81, 90, 240])), [255, 0, 0, 255]);
    }

    #[test]
    fn an_odd_width_has_padded_rows_and_rounded_up_chroma() {
        let f = frame(5, 3, [16, 128, 128]);
        assert_eq!(f.chroma_size(), (3, 2));
        // GStreamer pads every row to 4 bytes (luma 5 → 8, chroma 3 → 4) and gives the luma
        // plane an even number of rows (3 → 4), so U starts at 8 · 4, not 8 · 3.
        let offset = |plane: &[u8]| plane.as_ptr() as usize - f.y().0.as_ptr() as usize;
        assert_eq!(f.y().1, 8);
        assert_eq!((offset(f.u().0), f.u().1), (8 * 4, 4));
        assert_eq!((offset(f.v().0), f.v().1), (8 * 4 + 4 * 2, 4));
        // Each plane's slice ends with its last row's last pixel.
        assert_eq!(f.y().0.len(), 8 * 2 + 5);
        assert_eq!(f.u().0.len(), 4 + 3);
        assert_eq!(f.v().0.len(), 4 + 3);
        assert_eq!(f.to_rgba().len(), 5 * 3 * 4);
    }

    #[test]
    fn each_pixel_takes_the_chroma_of_its_2x2_block() {
        gst::init().unwrap();
        // 4×2, strides 4 and 2: Y all 81; U, V give the left block red and the right blue.
        let mut bytes = vec![81u8; 8];
        bytes.extend([90, 240]); // U
        bytes.extend([240, 110]); // V
        let data = gst::Buffer::from_mut_slice(bytes).into_mapped_buffer_readable().unwrap();
        let layout = [
            PlaneLayout { offset: 0, stride: 4 },
            PlaneLayout { offset: 8, stride: 2 },
            PlaneLayout { offset: 10, stride: 2 },
        ];
        let f = Frame::new(4, 2, layout, 1, data).unwrap();
        let rgba = f.to_rgba();
        let px = |x: usize, y: usize| &rgba[(y * 4 + x) * 4..][..3];
        assert_eq!(px(0, 0), [255, 0, 0]);
        assert_eq!(px(1, 1), [255, 0, 0]);
        assert_eq!(px(2, 0), px(3, 1));
        assert!(px(2, 0)[2] > px(2, 0)[0], "the right block is bluish: {:?}", px(2, 0));
    }

    #[test]
    fn a_layout_that_does_not_fit_the_buffer_is_refused() {
        gst::init().unwrap();
        let data = gst::Buffer::from_mut_slice(vec![0u8; 10]).into_mapped_buffer_readable().unwrap();
        let layout = [
            PlaneLayout { offset: 0, stride: 4 },
            PlaneLayout { offset: 8, stride: 2 },
            PlaneLayout { offset: 10, stride: 2 },
        ];
        assert!(Frame::new(4, 2, layout, 1, data).is_none());
    }
}
