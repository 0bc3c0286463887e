//! Latency percentiles with a guaranteed relative error: DDSketch.
//!
//! `dd_sketch(x DOUBLE) -> BINARY` aggregates values into a DDSketch (Masson, Rim & Lee,
//! VLDB 2019; the `sketches-ddsketch` crate) with relative accuracy [`ALPHA`] = 0.5%:
//! every quantile it reports is within 0.5% of the exact value at rank
//! `floor(q * (n - 1))`. `sketch_quantile(sketch BINARY, q DOUBLE) -> DOUBLE` reads one
//! quantile. Sketches merge exactly, so partial aggregates combine across partitions.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BinaryArray, Float64Array};
use arrow::datatypes::{DataType, Float64Type};
use datafusion::common::{ScalarValue, exec_err};
use datafusion::error::Result;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, ColumnarValue, ScalarUDF, Volatility, create_udaf, create_udf,
};
use sketches_ddsketch::{Config, DDSketch};

/// Relative accuracy of reported quantiles.
pub const ALPHA: f64 = 0.005;
const MAX_BINS: u32 = 8192;

fn new_sketch() -> DDSketch {
    DDSketch::new(Config::new(ALPHA, MAX_BINS, 1e-9))
}

/// Decodes a sketch produced by `dd_sketch`.
pub fn decode(bytes: &[u8]) -> Result<DDSketch> {
    serde_json::from_slice(bytes)
        .map_err(|e| datafusion::error::DataFusionError::Execution(format!("invalid sketch: {e}")))
}

struct SketchAccumulator {
    sketch: DDSketch,
}

impl std::fmt::Debug for SketchAccumulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SketchAccumulator")
            .field("count", &self.sketch.count())
            .finish()
    }
}

impl SketchAccumulator {
    /// The sketch as bytes; NULL when empty (an empty sketch's min/max are infinite).
    fn encoded(&self) -> Result<ScalarValue> {
        if self.sketch.count() == 0 {
            return Ok(ScalarValue::Binary(None));
        }
        let bytes = serde_json::to_vec(&self.sketch).map_err(|e| {
            datafusion::error::DataFusionError::Execution(format!("encoding sketch: {e}"))
        })?;
        Ok(ScalarValue::Binary(Some(bytes)))
    }
}

impl Accumulator for SketchAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let values = values[0].as_primitive::<Float64Type>();
        for v in values.iter().flatten() {
            self.sketch.add(v);
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let states = states[0].as_binary::<i32>();
        for bytes in states.iter().flatten() {
            let other = decode(bytes)?;
            if other.count() > 0 {
                self.sketch.merge(&other).map_err(|e| {
                    datafusion::error::DataFusionError::Execution(format!("merging sketches: {e}"))
                })?;
            }
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.encoded()?])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        self.encoded()
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.sketch.length() * 8
    }
}

/// The `dd_sketch` aggregate.
pub fn dd_sketch() -> AggregateUDF {
    create_udaf(
        "dd_sketch",
        vec![DataType::Float64],
        Arc::new(DataType::Binary),
        Volatility::Immutable,
        Arc::new(|_| {
            Ok(Box::new(SketchAccumulator {
                sketch: new_sketch(),
            }))
        }),
        Arc::new(vec![DataType::Binary]),
    )
}

/// The `sketch_quantile` scalar function.
pub fn sketch_quantile() -> ScalarUDF {
    create_udf(
        "sketch_quantile",
        vec![DataType::Binary, DataType::Float64],
        DataType::Float64,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let sketches = arrays[0].as_any().downcast_ref::<BinaryArray>();
            let qs = arrays[1].as_primitive::<Float64Type>();
            let Some(sketches) = sketches else {
                return exec_err!("sketch_quantile expects a sketch from dd_sketch");
            };
            let mut out = Vec::with_capacity(sketches.len());
            for i in 0..sketches.len() {
                if sketches.is_null(i) || qs.is_null(i) {
                    out.push(None);
                    continue;
                }
                let q = qs.value(i);
                if !(0.0..=1.0).contains(&q) {
                    return exec_err!("sketch_quantile: quantile {q} is outside [0, 1]");
                }
                let sketch = decode(sketches.value(i))?;
                out.push(sketch.quantile(q).ok().flatten());
            }
            Ok(ColumnarValue::Array(Arc::new(Float64Array::from(out))))
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact value at rank floor(q * (n - 1)) of sorted data.
    fn exact(sorted: &[f64], q: f64) -> f64 {
        sorted[(q * (sorted.len() as f64 - 1.0)) as usize]
    }

    #[test]
    fn quantiles_within_relative_error_after_merge() {
        // A long-tailed latency distribution: log-uniform over 5 decades.
        let mut x: u64 = 0x9e3779b97f4a7c15;
        let mut values: Vec<f64> = (0..200_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                1e4 * 10f64.powf((x % 1_000_000) as f64 / 200_000.0)
            })
            .collect();
        let (mut a, mut b) = (
            SketchAccumulator {
                sketch: new_sketch(),
            },
            SketchAccumulator {
                sketch: new_sketch(),
            },
        );
        a.update_batch(&[Arc::new(Float64Array::from(values[..70_000].to_vec())) as ArrayRef])
            .expect("update");
        b.update_batch(&[Arc::new(Float64Array::from(values[70_000..].to_vec())) as ArrayRef])
            .expect("update");
        let ScalarValue::Binary(Some(state)) = b.state().expect("state").remove(0) else {
            panic!("binary state")
        };
        a.merge_batch(&[Arc::new(BinaryArray::from(vec![state.as_slice()])) as ArrayRef])
            .expect("merge");
        values.sort_by(f64::total_cmp);
        for q in [0.5, 0.9, 0.95, 0.99, 0.999] {
            let got = a.sketch.quantile(q).expect("valid q").expect("non-empty");
            let want = exact(&values, q);
            assert!(
                ((got - want) / want).abs() <= ALPHA + 1e-9,
                "q={q} got={got} want={want}"
            );
        }
    }
}
