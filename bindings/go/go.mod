module github.com/libbackendai/backendai-go

go 1.23
