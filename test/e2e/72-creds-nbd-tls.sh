#!/bin/bash
# A socket-group user borrows no TLS identity of ublkd's. Root's libnbd
# directory (/etc/pki/libnbd, in the guest's own writable /etc) holds a
# client certificate that an nbdkit requiring TLS and a verified client
# certificate admits. Root's nbds:// device connects with it and serves
# data (fio crc32c verify); the same URL added by a user of the socket
# group is refused (no client certificate is presented for it), and so is
# it for the user with a passed-on `tls-certificates` query (query
# parameters are root's), while root's device keeps serving.
# Run on the stable kernel only: what it checks (root's TLS identity kept from
# users) lies above the ublk driver (test/e2e/run-suite).
# e2e-kernels: stable
. "$(dirname "$0")/lib.sh"
. "$E2E_SRCDIR/nbd-lib.sh"
. "$E2E_SRCDIR/creds-lib.sh"
require_root
require_backend nbd
command -v openssl > /dev/null || fail "openssl is missing (test/install-deps)"

# A CA, a server certificate for 127.0.0.1 and a client certificate (P-256).
pki=$E2E_TMP/pki
mkdir -p "$pki/server" /etc/pki/libnbd
chmod 0700 /etc/pki/libnbd
on_exit "rm -rf /etc/pki/libnbd"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$pki/ca-key.pem" -out "$pki/ca-cert.pem" -subj /CN=ublkd-e2e-ca \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	2> "$pki/openssl.log" || { cat "$pki/openssl.log"; fail "openssl: the CA"; }
# Makes certificate $1 (subject CN $2, extensions $3) signed by the CA.
mkcert() {
	printf '%s\n' "$3" > "$pki/$1.ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
		-keyout "$pki/$1-key.pem" -out "$pki/$1.csr" 2>> "$pki/openssl.log" &&
	openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca-cert.pem" -CAkey "$pki/ca-key.pem" \
		-CAcreateserial -days 2 -extfile "$pki/$1.ext" -out "$pki/$1-cert.pem" \
		2>> "$pki/openssl.log" || { cat "$pki/openssl.log"; fail "openssl: $1"; }
}
mkcert server 127.0.0.1 "subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth
keyUsage=critical,digitalSignature"
mkcert client ublkd-root "extendedKeyUsage=clientAuth
keyUsage=critical,digitalSignature"
cp "$pki/ca-cert.pem" "$pki/server-cert.pem" "$pki/server-key.pem" "$pki/server/"
cp "$pki/ca-cert.pem" "$pki/client-cert.pem" "$pki/client-key.pem" /etc/pki/libnbd/
cp -r "$pki/server" "$E2E_TMP/user-pki"
chown -R "$ua" "$E2E_TMP/user-pki"

NBD_PROBE_URL="nbds://127.0.0.1:10813/?tls-certificates=/etc/pki/libnbd" \
	nbd_serve tls 10813 nbdkit -f -i 127.0.0.1 -p 10813 --tls=require \
	--tls-certificates="$pki/server" --tls-verify-peer memory 64M
start_daemon --socket-group "$grp"
chmod 0755 "$E2E_TMP"

# Root: its certificate is presented, the server admits it.
dev=$(nbd_add --url nbds://127.0.0.1:10813/ --timeout 10) || fail "root's add of nbds://"
require_blockdev "$dev"

# A user, with the same URL: refused, and nothing is added.
st=0
ctl "$ua" add nbd --url nbds://127.0.0.1:10813/ --timeout 5 > /dev/null || st=$?
[ "$st" -ne 0 ] || fail "a user's nbds:// device connected with root's client certificate"
[ -s "$E2E_TMP/err" ] || fail "no message for the user's refused add"
note "the user's nbds:// add: $(cat "$E2E_TMP/err")"
expect_refused "$ua" "a client other than root may give only nbd:// or nbds:// URLs without query parameters" \
	add nbd --url "nbds://127.0.0.1:10813/?tls-certificates=$E2E_TMP/user-pki"
expect_eq "$("$UBLKCTL" --json list | jget length)" 1 "devices after the user's adds"

# Root's device served all along.
fio --name=tls --filename="$dev" --ioengine=io_uring --direct=1 --size=16M --bs=4k \
	--iodepth=8 --rw=randwrite --verify=crc32c --verify_fatal=1 --do_verify=1 \
	--output="$E2E_TMP/fio.out" || { cat "$E2E_TMP/fio.out"; fail "fio verify on root's nbds:// device"; }
grep -q 'err= 0' "$E2E_TMP/fio.out" || { cat "$E2E_TMP/fio.out"; fail "fio errors on root's nbds:// device"; }
"$UBLKCTL" del "${dev#/dev/ublkb}" || fail "del root's nbds:// device"
