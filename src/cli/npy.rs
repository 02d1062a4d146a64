//! Reading and writing N×N fields as `.npy` (`a[i][j] = ω(x_i, y_j)`, C order).

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use npyz::WriterBuilder;

/// Read a square 2-D float32/float64 field whose side is a power of two ≥ 8; the error says
/// exactly what is wrong (missing file, not .npy, dtype, shape, NaN).
pub fn read_field(path: &Path) -> Result<(usize, Vec<f64>)> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let npy = npyz::NpyFile::new(BufReader::new(file))
        .with_context(|| format!("{} is not a valid .npy file", path.display()))?;
    let shape = npy.shape().to_vec();
    let dtype = match npy.dtype() {
        npyz::DType::Plain(t) => t.to_string(),
        other => bail!(
            "{}: dtype {} is not supported (need float32 or float64)",
            path.display(),
            other.descr()
        ),
    };
    let fortran = npy.order() == npyz::Order::Fortran;
    if shape.len() != 2 {
        bail!(
            "{}: expected a 2-D array, got shape {:?}",
            path.display(),
            shape
        );
    }
    let (rows, cols) = (shape[0] as usize, shape[1] as usize);
    if rows != cols {
        bail!(
            "{}: field is not square (shape {rows}×{cols})",
            path.display()
        );
    }
    let n = rows;
    if !n.is_power_of_two() || n < 8 {
        bail!("{}: side {n} is not a power of two ≥ 8", path.display());
    }
    let mut data: Vec<f64> = match &dtype[1..] {
        "f8" => npy.into_vec::<f64>(),
        "f4" => npy
            .into_vec::<f32>()
            .map(|v| v.into_iter().map(f64::from).collect()),
        _ => bail!(
            "{}: dtype {dtype} is not supported (need float32 or float64)",
            path.display()
        ),
    }
    .with_context(|| format!("{}: truncated or unreadable data", path.display()))?;
    if data.len() != n * n {
        bail!(
            "{}: expected {} values, found {}",
            path.display(),
            n * n,
            data.len()
        );
    }
    if fortran {
        let mut t = vec![0.0; n * n];
        transpose::transpose(&data, &mut t, n, n);
        data = t;
    }
    if let Some(i) = data.iter().position(|v| !v.is_finite()) {
        bail!(
            "{}: value at [{}][{}] is {} (NaN/inf not allowed)",
            path.display(),
            i / n,
            i % n,
            data[i]
        );
    }
    // a vorticity whose square overflows has no energy or enstrophy: as unusable as NaN
    if let Some(i) = data.iter().position(|v| v.abs() > MAX_ABS) {
        bail!(
            "{}: value at [{}][{}] is {:e}, beyond ±{MAX_ABS:e} (its square would overflow)",
            path.display(),
            i / n,
            i % n,
            data[i]
        );
    }
    Ok((n, data))
}

/// Largest |ω| a field may hold: the sum of N² squares stays finite for any N ≤ 4096.
const MAX_ABS: f64 = 1e150;

/// Write an N×N float64 field atomically (temporary file in the same folder, then rename).
pub(crate) fn write_field(path: &Path, n: usize, data: &[f64]) -> Result<()> {
    let dir = crate::atomic::parent_dir(path);
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    {
        let mut w = BufWriter::new(tmp.as_file_mut());
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[n as u64, n as u64])
            .writer(&mut w)
            .begin_nd()?;
        writer.extend(data.iter().copied())?;
        writer.finish()?;
        w.flush()?;
    }
    crate::atomic::persist(tmp, path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
