//! A number drawn into a picture and read back after compression: two rows of 16 black or
//! white blocks in the top-left corner, the number's bits, then their complement. A block is
//! 1/22.5 of the picture's height (25 px at 576 lines, 48 at 1080, 16 at 360), so it survives
//! compression. [`read`] takes the block centres of a decoded frame's luma and accepts the
//! number only if the second row is the complement of the first: a smeared picture gives no
//! number rather than a wrong one. The wall's benchmark draws frame numbers, the meeting's the
//! time a picture was taken.

use gstreamer as gst;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;
use streams::video::Frame;

const BITS: usize = 16;

/// The side of a barcode block in a picture `height` lines high.
fn block(height: u32) -> usize {
    height as usize * 2 / 45
}

/// Draws `index` as two rows of blocks (bits, then their complement) in neutral grey levels.
pub fn draw(frame: &mut gst_video::VideoFrameRef<&mut gst::BufferRef>, index: u32) {
    let b = block(frame.height());
    let strides: Vec<usize> = frame.plane_stride().iter().map(|s| *s as usize).collect();
    for bit in 0..BITS {
        let one = index >> (BITS - 1 - bit) & 1 == 1;
        for (row, white) in [(0, one), (1, !one)] {
            let (x, y) = (bit * b, row * b);
            // Luma black or white; both chroma planes (half size) neutral.
            for (plane, shift, value) in [(0, 0, if white { 235 } else { 16 }), (1, 1, 128), (2, 1, 128)] {
                let Ok(data) = frame.plane_data_mut(plane) else { continue };
                let stride = strides[plane as usize];
                for line in (y >> shift)..((y + b) >> shift) {
                    let start = line * stride + (x >> shift);
                    data[start..start + (b >> shift)].fill(value);
                }
            }
        }
    }
}

/// The frame number drawn into a decoded picture, if both rows read back consistently.
/// Blocks are black or white with neutral chroma, so luma alone tells them apart: the Y
/// plane at each block's centre, bright above mid-way between limited-range black (16) and
/// white (235).
pub fn read(frame: &Frame) -> Option<u32> {
    let b = block(frame.height);
    let (luma, stride) = frame.y();
    let bright = |bit: usize, row: usize| {
        let at = (row * b + b / 2) * stride + bit * b + b / 2;
        Some(*luma.get(at)? > 126)
    };
    let mut index = 0;
    for bit in 0..BITS {
        let one = bright(bit, 0)?;
        if bright(bit, 1)? == one {
            return None;
        }
        index = index << 1 | u32::from(one);
    }
    Some(index)
}
