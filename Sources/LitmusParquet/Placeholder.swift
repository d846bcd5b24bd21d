public enum LitmusParquetPlaceholder {}
