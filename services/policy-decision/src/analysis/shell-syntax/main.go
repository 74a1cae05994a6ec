//go:build js && wasm

// Command shell-syntax is mvdan.cc/sh/v3's bash parser compiled to WebAssembly
// for the policy decision service. It registers one JS function on the
// global object its loader passes in (shell-syntax-tree.ts):
//
//	__portcullisParseShell(source string) → string (JSON)
//
// The JSON is {"file": <typedjson syntax tree>, "words": {offset: text},
// "assigns": {offset: text}} or {"error": "<parse error>"}. typedjson
// (mvdan.cc/sh/v3/syntax/typedjson) tags every interface-typed node with its
// Go type name, so TypeScript can walk the whole tree. The words/assigns maps
// give the exact source text of every word and assignment, keyed by the byte
// offset where it starts, so non-literal arguments can be reported as written.
//
// We build this instead of using the sh-syntax npm package's tree because
// sh-syntax (0.7.0) only serialises statement positions: Stmt.Cmd and
// Word.Parts come back as bare {Pos, End} objects with no type or children.
package main

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"syscall/js"

	"mvdan.cc/sh/v3/syntax"
	"mvdan.cc/sh/v3/syntax/typedjson"
)

type result struct {
	File    json.RawMessage   `json:"file,omitempty"`
	Words   map[string]string `json:"words,omitempty"`
	Assigns map[string]string `json:"assigns,omitempty"`
	Error   string            `json:"error,omitempty"`
}

func encode(r result) string {
	out, err := json.Marshal(r)
	if err != nil {
		return `{"error":"encoding the syntax tree failed"}`
	}
	return string(out)
}

func span(src string, n syntax.Node) (string, string, bool) {
	start, end := n.Pos().Offset(), n.End().Offset()
	if start > end || end > uint(len(src)) {
		return "", "", false
	}
	return strconv.FormatUint(uint64(start), 10), src[start:end], true
}

func parse(src string) string {
	// Bash is the widest dialect mvdan/sh parses; POSIX sh input parses the same.
	parser := syntax.NewParser(syntax.Variant(syntax.LangBash), syntax.KeepComments(false))
	file, err := parser.Parse(strings.NewReader(src), "")
	if err != nil {
		return encode(result{Error: err.Error()})
	}
	r := result{Words: map[string]string{}, Assigns: map[string]string{}}
	syntax.Walk(file, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.Word:
			if k, v, ok := span(src, n); ok {
				r.Words[k] = v
			}
		case *syntax.Assign:
			if k, v, ok := span(src, n); ok {
				r.Assigns[k] = v
			}
		}
		return true
	})
	var buf bytes.Buffer
	if err := typedjson.Encode(&buf, file); err != nil {
		return encode(result{Error: err.Error()})
	}
	r.File = buf.Bytes()
	return encode(r)
}

func main() {
	js.Global().Set("__portcullisParseShell", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) != 1 || args[0].Type() != js.TypeString {
			return encode(result{Error: "expected one string argument"})
		}
		return parse(args[0].String())
	}))
	select {} // keep the Go runtime alive so the function stays callable
}
