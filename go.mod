module github.com/gownscan/gown

go 1.26.8

require (
	github.com/spf13/pflag v1.1.0 // indirect
	golang.org/x/time v0.16.0 // indirect
)
