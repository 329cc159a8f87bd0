# What the TAP tests in test/t share: a fresh signing key, and a node
# configured to preload user_module with it. The Makefile puts this directory
# on prove's include path (PG_PROVE_FLAGS).
package UserModuleNode;
use strict;
use warnings;
use Exporter 'import';
use MIME::Base64 qw(encode_base64);

our @EXPORT = qw(new_secret preload_user_module);

# a fresh key of 48 random bytes (64 base64 characters), never printed
sub new_secret
{
	open my $rnd, '<:raw', '/dev/urandom' or die "urandom: $!";
	read($rnd, my $bytes, 48) == 48 or die "urandom: short read";
	close $rnd;
	(my $secret = encode_base64($bytes, '')) =~ tr{+/=}{}d;
	return $secret;
}

# after init, before start: the library preloaded, the key in postgresql.conf
sub preload_user_module
{
	my ($node, $secret) = @_;
	$node->append_conf('postgresql.conf',
		"shared_preload_libraries = 'user_module'\nuser_module.jwt_secret = '$secret'\n");
}

1;
