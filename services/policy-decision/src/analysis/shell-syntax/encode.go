//go:build js && wasm

package main

import (
	"bytes"
	"reflect"
	"strconv"
	"unicode/utf8"

	"mvdan.cc/sh/v3/syntax"
)

var (
	posType  = reflect.TypeOf(syntax.Pos{})
	nodeType = reflect.TypeOf((*syntax.Node)(nil)).Elem()
	strType  = reflect.TypeOf((*interface{ String() string })(nil)).Elem()
)

// encodeTree writes the syntax tree as compact JSON: every node gets "Pos" and
// "End" byte offsets, interface-typed nodes get "Type", positions inside
// nodes are offsets, operator tokens are their source text, zero values are left out.
func encodeTree(buf *bytes.Buffer, v reflect.Value, withType bool) {
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			buf.WriteString("null")
			return
		}
		encodeTree(buf, v.Elem(), true)
	case reflect.Pointer:
		if v.IsNil() {
			buf.WriteString("null")
			return
		}
		encodeTree(buf, v.Elem(), withType)
	case reflect.Struct:
		if v.Type() == posType {
			buf.WriteString(strconv.FormatUint(uint64(v.Interface().(syntax.Pos).Offset()), 10))
			return
		}
		buf.WriteByte('{')
		first := true
		field := func(name string) {
			if !first {
				buf.WriteByte(',')
			}
			first = false
			buf.WriteByte('"')
			buf.WriteString(name)
			buf.WriteString(`":`)
		}
		if withType {
			field("Type")
			buf.WriteString(strconv.Quote(v.Type().Name()))
		}
		if v.CanAddr() && v.Addr().Type().Implements(nodeType) {
			n := v.Addr().Interface().(syntax.Node)
			field("Pos")
			buf.WriteString(strconv.FormatUint(uint64(n.Pos().Offset()), 10))
			field("End")
			buf.WriteString(strconv.FormatUint(uint64(n.End().Offset()), 10))
		}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			fv := v.Field(i)
			if !f.IsExported() || fv.IsZero() {
				continue
			}
			field(f.Name)
			encodeTree(buf, fv, false)
		}
		buf.WriteByte('}')
	case reflect.Slice:
		buf.WriteByte('[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				buf.WriteByte(',')
			}
			encodeTree(buf, v.Index(i), false)
		}
		buf.WriteByte(']')
	case reflect.String:
		writeString(buf, v.String())
	case reflect.Bool:
		buf.WriteString(strconv.FormatBool(v.Bool()))
	default:
		if v.Type().Implements(strType) { // operator tokens: RedirOperator, BinCmdOperator …
			writeString(buf, v.Interface().(interface{ String() string }).String())
			return
		}
		switch v.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			buf.WriteString(strconv.FormatInt(v.Int(), 10))
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			buf.WriteString(strconv.FormatUint(v.Uint(), 10))
		default:
			buf.WriteString("null")
		}
	}
}

// writeString writes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func writeString(buf *bytes.Buffer, s string) {
	buf.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			buf.WriteString(`\"`)
		case r == '\\':
			buf.WriteString(`\\`)
		case r < 0x20 || r == 0x2028 || r == 0x2029:
			buf.WriteString(`\u`)
			h := strconv.FormatInt(int64(r), 16)
			for len(h) < 4 {
				h = "0" + h
			}
			buf.WriteString(h)
		case r == utf8.RuneError:
			buf.WriteString(`\ufffd`)
		default:
			buf.WriteRune(r)
		}
	}
	buf.WriteByte('"')
}
