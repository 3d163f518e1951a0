fn main() {
    eprintln!("smtpscope: under construction");
    std::process::exit(1);
}
