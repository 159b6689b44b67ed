module github.com/libbackendai/libbackendai/bindings/go

go 1.23
